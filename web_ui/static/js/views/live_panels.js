/* Live extras: the projector thumbnail with hit markers, the timers (time in scene, time since the
 * threat cue) and "what comes next".
 * testids: live-frame (hidden when the box has no frame endpoint), live-frame-img, hit-markers,
 * hit-marker (data-seq), scene-time, threat-time, next-list, next-item (data-via, data-goto). */
import { S } from '../state.js';
import { $, h } from '../dom.js';
import { getBlob } from '../api.js';
import { clock } from '../format.js';

const F = { timer: 0, url: '', inFlight: false, missing: false, threat: null, markersKey: '' };
const FRAME_MS = 1000;

/** Start refreshing the thumbnail about once a second while the live view is visible. */
export function startFrames() {
  stopFrames();
  F.missing = false;
  $('live-frame').hidden = false;
  const loop = async () => {
    if (S.view !== 'live' || !S.live) return;
    if (!document.hidden && !F.inFlight && !S.live.ended) {
      F.inFlight = true;
      try {
        const blob = await getBlob('/api/live/frame.jpg', { timeoutMs: 4000 });
        const url = URL.createObjectURL(blob);
        const img = $('live-frame-img');
        img.onload = () => {
          if (F.url && F.url !== url) URL.revokeObjectURL(F.url);
          F.url = url;
          // the markers are in video coordinates: give the box the picture's own shape
          if (img.naturalWidth && img.naturalHeight) img.parentElement.style.aspectRatio = img.naturalWidth + ' / ' + img.naturalHeight;
        };
        img.src = url;
        $('live-frame').classList.add('has-frame');
      } catch (e) {
        if (e.status === 404 || e.status === 405) { F.missing = true; $('live-frame').hidden = true; return; }
      } finally {
        F.inFlight = false;
      }
    }
    F.timer = setTimeout(loop, FRAME_MS);
  };
  loop();
}

export function stopFrames() {
  clearTimeout(F.timer);
  F.timer = 0;
}

/** Hit markers over the thumbnail: the current scene's hits, numbered, the newest highlighted. */
export function renderMarkers(events, sceneId) {
  const hits = events.filter((e) => e.kind === 'hit' && e.scene_id === sceneId && e.data &&
    typeof e.data.x === 'number' && typeof e.data.y === 'number');
  const key = sceneId + '|' + hits.map((e) => e.seq).join(',');
  if (key === F.markersKey) return;
  F.markersKey = key;
  const newest = hits.length ? hits[hits.length - 1].seq : -1;
  $('hit-markers').replaceChildren(...hits.map((e, i) => {
    const bad = (e.data.zones || []).some((z) => z.kind === 'no-shoot');
    const none = !(e.data.zones || []).length;
    return h('span', {
      class: 'hit-marker' + (bad ? ' no-shoot' : none ? ' miss' : '') + (e.seq === newest ? ' newest' : ''),
      testid: 'hit-marker', dataset: { seq: e.seq },
      style: 'left:' + (e.data.x * 100).toFixed(2) + '%;top:' + (e.data.y * 100).toFixed(2) + '%',
      title: 'Hit ' + (i + 1),
    }, String(i + 1));
  }));
  $('hit-count').textContent = hits.length ? hits.length + (hits.length === 1 ? ' hit' : ' hits') + ' this scene' : '';
}

/** Take the threat-cue clock from a STATE (contract fields), if it has them. */
export function threatFromState(st) {
  if (!st || !('last_threat_cue_t_session_s' in st)) return;
  const cue = st.last_threat_cue_t_session_s, now = st.t_session_s;
  F.threat = typeof cue === 'number' && typeof now === 'number' ? { t: now - cue, at: performance.now() } : null;
}

/** A threat_cue event just arrived over the feed: the clock starts now. */
export function threatCueNow() { F.threat = { t: 0, at: performance.now() }; }
export function resetThreat() { F.threat = null; }

/** Update the two clocks (called 4x a second). */
export function tickTimers() {
  if (S.view !== 'live' || !S.live) return;
  const running = !S.live.ended && S.live.session.status === 'running' && S.live.scene;
  const t = S.sceneBase.t + (running ? (performance.now() - S.sceneBase.at) / 1000 : 0);
  const el = $('scene-time');
  const txt = clock(t);
  if (el.textContent !== txt) el.textContent = txt;
  const th = $('threat-time');
  const ttxt = F.threat ? clock(F.threat.t + (S.live.ended ? 0 : (performance.now() - F.threat.at) / 1000)) : '—';
  if (th.textContent !== ttxt) th.textContent = ttxt;
  th.parentElement.classList.toggle('armed', !!F.threat && !S.live.ended);
}

const cap = (t) => String(t || '').charAt(0).toUpperCase() + String(t || '').slice(1);

/** "What comes next" from scene.next (hidden when the box does not send it). */
export function renderNext(scene) {
  const next = scene && Array.isArray(scene.next) ? scene.next : null;
  $('next-panel').hidden = !next;
  if (!next) return;
  const key = JSON.stringify(next);
  const list = $('next-list');
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...(next.length ? next.map((n) => h('li', {
    class: 'next-item' + (String(n.via).startsWith('choice:') ? '' : ' auto'), testid: 'next-item',
    dataset: { via: n.via, goto: n.goto || '' },
  }, h('span', { class: 'next-via' }, String(n.via).startsWith('choice:') ? 'Choice' : 'Automatic'),
  h('span', { class: 'next-label' }, cap(n.label) + ' → ' + (n.goto_title || n.goto || 'end')))) :
    [h('li', { class: 'muted' }, 'The scenario ends after this scene.')]));
}
