/* OpenRange tablet page: the entry module. Vanilla ES modules, no build step, no external resources.
 *
 * Views (<body data-view>, <section data-testid="view-NAME">): loading, pair, library, setup, live,
 * debrief, records, history, admin. Each view module documents its data-testids; the header has
 * connection-state (data-state = connected | reconnecting | offline | idle = not paired),
 * hardware-warnings, hardware-mode, menu-button, menu-library, menu-records, menu-admin (admin role
 * only), unpair-button, goto-live (a session runs while another view shows), replay-banner.
 *
 * The box is the source of truth: the WebSocket's snapshot on (re)connect and its state/event
 * messages drive the views, so a dropped Wi-Fi loses nothing.
 */
import { S, savePairing, addEvents, isActive } from './state.js';
import { $, h, confirmOpen } from './dom.js';
import { api, setUnauthorizedHandler } from './api.js';
import { connectWS, disconnectWS, feedUp, nudgeWS, setConn, setFeedHandlers, watchConn } from './ws.js';
import { showView, toggleMenu, closeMenu, refreshLiveLink } from './nav.js';
import { initPair, goPair, pairKey } from './views/pair.js';
import { initLibrary, goLibrary, closeGraph } from './views/library.js';
import { initSetup, goSetup, setSetupError } from './views/setup.js';
import { initLive, goLive, markEnded, renderLive, hotkey, toggleFlag, closeEndDialog, endDialogOpen } from './views/live.js';
import { threatCueNow, threatFromState, tickTimers } from './views/live_panels.js';
import { initDebrief, goDebrief, debriefEvent } from './views/debrief.js';
import { initRecords, goRecords } from './views/records.js';
import { initAdmin, goAdmin } from './views/admin.js';
import { initUpdates, updateMessage } from './views/updates.js';
import { initLibraryAdmin } from './views/library_admin.js';
import { initSettingsAdmin } from './views/settings_admin.js';
import { initReplay, showReplaying } from './views/replay.js';

const EXPIRED_MSG = 'Pairing expired, enter the PIN again';

function expirePairing(msg = EXPIRED_MSG) {
  savePairing(null);
  disconnectWS();
  S.live = null; S.state = null;
  renderHardware(null);
  goPair(msg, false);
}

// -- the feed
function onMessage(m) {
  if (!m || typeof m !== 'object') return;
  if (m.type === 'snapshot' || m.type === 'state') applyState(m.state);
  else if (m.type === 'update') updateMessage(m);
  else if (m.type === 'event' && m.event) {
    const ev = m.event;
    addEvents([ev]);
    if (S.live && ev.session_id === S.live.id) {
      if (ev.kind === 'threat_cue') threatCueNow();
      if (ev.kind === 'session_ended' && !S.live.ended) {
        S.live.outcome = (ev.data && ev.data.outcome) || S.live.outcome;
        markEnded();
      }
      if (S.view === 'live') renderLive();
    }
    debriefEvent(ev);
  }
}

function applyState(st) {
  if (!st || typeof st !== 'object') return;
  S.state = st;
  renderHardware(st.hardware);
  showReplaying(!!st.replaying, st.replaying);
  const sess = st.session;
  if (sess && sess.id) addEvents(st.events, sess.id);
  S.sceneBase = { t: Number(st.scene_time_s) || 0, at: performance.now() };
  if (S.live && sess && sess.id === S.live.id) {
    S.live.session = sess; S.live.scene = st.scene || S.live.scene; S.live.confirmed = true;
    if (st.rubric) S.live.rubric = st.rubric;
    if (sess.outcome) S.live.outcome = sess.outcome;
    threatFromState(st);
  }
  syncView();
  if (S.view === 'live') renderLive();
  refreshLiveLink();
}

/** Decide the view from the latest STATE. */
function syncView() {
  if (S.view === 'pair' || !S.state) return;
  const sess = S.state.session;
  if (isActive(sess)) {
    const follow = ['loading', 'library', 'setup'].includes(S.view) ||
      (S.view === 'live' && (!S.live || (S.live.id !== sess.id && !S.live.ended)));
    if (follow) goLive(sess, true);
    return;
  }
  if (S.view === 'loading') { goLibrary(); return; }
  if (S.live && !S.live.ended) {
    // Our session is over (status ended, or gone). Ignore "no session" until the box has confirmed
    // ours at least once: a state from before our POST may still be in flight.
    if (S.live.confirmed || (sess && sess.id === S.live.id)) markEnded();
  }
}

// -- hardware banner and device strip
function renderHardware(hw) {
  const warnings = (hw && Array.isArray(hw.warnings)) ? hw.warnings : [];
  const list = $('hw-list');
  const key = JSON.stringify(warnings);
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    list.replaceChildren(...warnings.map((w) => h('li', {}, String(w))));
  }
  $('hw-warnings').hidden = warnings.length === 0;
  $('hw-mode').hidden = !(hw && hw.mode === 'sim');
}

function renderDevices(devices) {
  const strip = $('devices');
  if (!devices) { strip.hidden = true; return; }
  const inputs = devices.inputs || {};
  const estop = Object.entries(inputs).some(([name, on]) => on && /estop|emergency/.test(name));
  const outputs = (devices.outputs || []).filter((o) => o.on && o.name !== 'status_led').map((o) => o.name.replace(/_/g, ' '));
  const cam = devices.camera;
  const kids = [];
  if (estop) kids.push(h('strong', { class: 'estop', testid: 'estop-banner' }, 'EMERGENCY STOP ENGAGED'));
  for (const name of outputs) kids.push(h('span', { class: 'chip on', testid: 'output-on' }, name + ' ON'));
  if (cam && !cam.calibrated) kids.push(h('span', { class: 'chip warn' }, 'camera not calibrated'));
  strip.replaceChildren(...kids);
  strip.hidden = kids.length === 0;
  strip.classList.toggle('alarm', estop);
}
async function pollDevices() {
  if (S.token && !document.hidden) {
    try {
      const health = await api('GET', '/api/health', undefined, { auth: false, timeoutMs: 3000 });
      renderDevices(health && health.devices);
    } catch { /* offline: the connection dot already says so */ }
  }
  setTimeout(pollDevices, 1500);
}

// -- start-up
async function start() {
  S.live = null;
  showView('loading');
  $('loading-msg').textContent = '';
  $('loading-retry').hidden = true;
  connectWS();
  api('GET', '/api/auth/me').then((me) => {
    if (me && me.role && me.role !== S.role) { savePairing({ token: S.token, csrf_token: S.csrf, role: me.role }); $('menu-admin').hidden = S.role !== 'admin'; }
  }).catch(() => { /* older box: keep the role from pairing */ });
  try {
    applyState(await api('GET', '/api/state'));
  } catch (e) {
    if (e.handled) return;
    if (S.view === 'loading') {
      // The socket's snapshot will move us on if it gets through first.
      $('loading-msg').textContent = e.message;
      $('loading-retry').hidden = false;
    }
  }
}

async function followRunning() {
  try {
    const st = await api('GET', '/api/state');
    if (!isActive(st && st.session)) { setSetupError(''); }
    if (isActive(st && st.session)) goLive(st.session, true);
    applyState(st);
  } catch { /* the toast of api() is enough */ }
}

// -- keyboard
function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || confirmOpen()) return;
  if (endDialogOpen()) {
    if (e.key === 'Escape') { e.preventDefault(); closeEndDialog(); }
    return;
  }
  if (e.key === 'Escape' && !$('graph-modal').hidden) { closeGraph(); return; }
  if (e.key === 'Escape' && !$('menu').hidden) { closeMenu(); return; }
  if (S.view === 'pair') { pairKey(e); return; }
  const typing = e.target instanceof HTMLElement && (/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) || e.target.isContentEditable);
  if (S.view === 'live') {
    if (typing) {
      if (e.key === 'Escape' && e.target.id === 'flag-note') toggleFlag(false);
      return;
    }
    if (e.repeat) return;
    if (hotkey(e.key.toLowerCase())) e.preventDefault();
  }
}

// -- wiring
function init() {
  setUnauthorizedHandler(() => expirePairing());
  setFeedHandlers({
    message: onMessage,
    expired: () => expirePairing(),
    refused: () => api('GET', '/api/state').then(applyState).catch(() => {}),
  });
  initPair(start);
  initLibrary(goSetup);
  initSetup({ onBack: goLibrary, onStarted: (sess) => goLive(sess, false), onRunning: followRunning });
  const toLibrary = () => { goLibrary(); syncView(); };
  initLive({ onDebrief: (id) => goDebrief(id, () => { S.live = null; toLibrary(); }), onLibrary: toLibrary });
  initDebrief();
  initRecords({ onDebrief: goDebrief });
  initAdmin();
  initUpdates();
  initLibraryAdmin();
  initSettingsAdmin();
  initReplay();
  $('loading-retry').addEventListener('click', start);
  $('goto-live').addEventListener('click', () => { if (S.state && isActive(S.state.session)) goLive(S.state.session, true); });
  $('menu-button').addEventListener('click', (e) => { e.stopPropagation(); toggleMenu(); });
  document.addEventListener('click', (e) => { if (!e.target.closest('.menu')) closeMenu(); });
  $('menu-library').addEventListener('click', () => { if (S.view !== 'live' || !S.live || S.live.ended) toLibrary(); else closeMenu(); });
  $('menu-live').addEventListener('click', () => { if (S.state && isActive(S.state.session)) goLive(S.state.session, true); closeMenu(); });
  $('menu-records').addEventListener('click', goRecords);
  $('menu-admin').addEventListener('click', goAdmin);
  $('unpair-button').addEventListener('click', () => {
    const token = S.token;
    expirePairing('Unpaired. Enter the PIN to pair again.');
    // Revoke the token on the box too (it also clears the cookie); the tablet is unpaired either way.
    if (token) {
      fetch('/api/auth/unpair', { method: 'POST', headers: { Authorization: 'Bearer ' + token }, cache: 'no-store', credentials: 'same-origin' })
        .catch(() => { /* offline: the token expires on its own */ });
    }
  });
  document.addEventListener('keydown', onKey);
  window.addEventListener('online', nudgeWS);
  window.addEventListener('offline', () => { if (S.token && !feedUp()) setConn('offline'); });
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') nudgeWS(); });
  setInterval(() => { tickTimers(); watchConn(); }, 250);
  pollDevices();
  if (S.token) start();
  else { goPair(); setConn('idle'); }
}

init();
