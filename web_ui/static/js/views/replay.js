/* The "replaying on the projector" banner with its Stop button (any view).
 * testids: replay-banner, replay-stop. */
import { $ } from '../dom.js';
import { api, reportError } from '../api.js';

export function initReplay() {
  $('replay-stop').addEventListener('click', async () => {
    $('replay-stop').disabled = true;
    try {
      await api('POST', '/api/replay/stop', {});
      showReplaying(false);
    } catch (e) {
      reportError(e);
    } finally {
      $('replay-stop').disabled = false;
    }
  });
}

/** Show or hide the banner (from STATE.replaying, or right after a replay-moment call). */
export function showReplaying(on, info) {
  $('replay-banner').hidden = !on;
  if (on && info && info.scene_id) $('replay-what').textContent = 'Replaying ' + info.scene_id + ' on the projector';
  else if (on) $('replay-what').textContent = 'Replaying on the projector';
}
