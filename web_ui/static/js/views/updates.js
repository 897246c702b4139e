/* Software update on the admin page (web_ui/routers/updates.py): upload a signed .raucb bundle with an
 * upload progress bar, follow the install (percent and step, live over the feed's "update" messages),
 * install or dismiss a bundle found on a USB stick, boot the previous version, restart the box.
 * The section hides itself when the box has no update endpoint (404).
 * testids: update-panel, update-status, update-job, update-file, update-upload, update-progress,
 * update-offer, update-usb-install, update-usb-dismiss, update-boot-previous, update-reboot. */
import { S } from '../state.js';
import { $, h, toast, confirmDialog } from '../dom.js';
import { api, upload, reportError } from '../api.js';

const BASE = '/api/updates';
const U = { status: null };

export function initUpdates() {
  $('update-form').addEventListener('submit', send);
}

/** Fetch and show the update status (hides the section on 404). */
export async function loadUpdates() {
  try {
    U.status = await api('GET', BASE);
    $('update-panel').hidden = false;
    render();
  } catch (e) {
    if (e.status === 404 || e.status === 405) { $('update-panel').hidden = true; return; }
    $('update-panel').hidden = false;
    $('update-status').replaceChildren(h('dt', {}, 'Updates'), h('dd', {}, e.message));
    $('update-form').hidden = true;
  }
}

/** A {"type": "update", "job", "offer"} message from the feed. */
export function updateMessage(m) {
  if (!U.status || S.view !== 'admin') return;
  U.status = Object.assign({}, U.status, { job: m.job || U.status.job, offer: m.offer === undefined ? U.status.offer : m.offer });
  render();
  if (m.job && (m.job.state === 'installed' || m.job.state === 'failed')) loadUpdates();
}

const JOB_TEXT = { idle: 'No update in progress', installing: 'Installing', installed: 'Installed: restart to use it', failed: 'Failed' };

function render() {
  const st = U.status || {};
  const sys = st.system || {};
  const rows = [
    ['Running version', st.running_version || '?'],
    ['This boot', (st.confirmation && st.confirmation.state) || '—'],
    ['Booted slot', sys.booted || '—'],
    ['Next boot', sys.next_boot || '—'],
  ];
  if (!st.enabled) rows.push(['Updates', 'not set up on this box (no RAUC configuration)']);
  if (st.system_error) rows.push(['Problem', st.system_error]);
  $('update-status').replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));

  const job = st.job || { state: 'idle' };
  const busy = job.state === 'installing';
  $('update-job').textContent = (JOB_TEXT[job.state] || job.state) +
    (busy ? ' ' + (job.percent ?? 0) + ' % – ' + (job.step || '') : '') + (job.error ? ': ' + job.error : '');
  $('update-job').dataset.state = job.state;
  const bar = $('update-install-progress');
  bar.hidden = !busy;
  if (busy) bar.value = (Number(job.percent) || 0) / 100;

  $('update-form').hidden = !st.enabled;
  $('update-upload').disabled = busy;
  const offer = st.offer;
  const box = $('update-offer');
  box.hidden = !offer;
  if (offer) {
    box.replaceChildren(
      h('p', {}, 'Update found on a USB stick: ' + String(offer.path || '').split('/').pop() +
        (offer.version ? ' (version ' + offer.version + ')' : '') + (offer.trusted === false ? ' – cannot be installed: ' + (offer.error || '') : '')),
      h('div', { class: 'row row-wrap' },
        offer.trusted !== false && h('button', { type: 'button', class: 'btn btn-go', testid: 'update-usb-install', disabled: busy, onclick: () => act('/usb/install', 'Installing from the USB stick') }, 'Install from USB'),
        h('button', { type: 'button', class: 'btn', testid: 'update-usb-dismiss', onclick: () => act('/usb/dismiss', 'Ignored') }, 'Ignore')));
  }
  $('update-actions').hidden = !st.enabled;
  $('update-actions').replaceChildren(
    h('button', {
      type: 'button', class: 'btn', testid: 'update-boot-previous', disabled: busy,
      onclick: async () => {
        if (await confirmDialog('Boot the previous version?', 'The box starts the other version after the next restart.', 'Boot previous')) act('/boot-previous', 'The previous version boots after a restart');
      },
    }, 'Boot previous version'),
    h('button', {
      type: 'button', class: 'btn btn-danger', testid: 'update-reboot', disabled: busy,
      onclick: async () => {
        if (await confirmDialog('Restart the box now?', 'Tablets reconnect by themselves when it is back (about a minute).', 'Restart')) act('/reboot', 'Restarting');
      },
    }, 'Restart the box'));
}

async function act(path, done) {
  try {
    await api('POST', BASE + path, {});
    toast(done, 'info');
    loadUpdates();
  } catch (e) { reportError(e); }
}

async function send(e) {
  e.preventDefault();
  const file = $('update-file').files[0];
  if (!file) { toast('Choose an update bundle (.raucb) first.'); return; }
  const bar = $('update-progress');
  const btn = $('update-upload');
  bar.hidden = false; bar.value = 0; btn.disabled = true;
  try {
    const r = await upload('PUT', BASE + '/bundle', file, (f) => { bar.value = f; });
    bar.value = 1;
    if (r && r.job) U.status = Object.assign({}, U.status, { job: r.job });
    render();
    toast('Uploaded: installing', 'info');
  } catch (ex) {
    reportError(ex);
  } finally {
    btn.disabled = false;
    setTimeout(() => { bar.hidden = true; }, 1500);
  }
}
