/* Live control of the running session: branch buttons (colour-coded, with hotkeys), pause / blank /
 * resume / replay / restart / end, flag with a note, the rubric, the timeline, and the summary at the end.
 * testids: live-scenario-title, live-trainees, state-badge (data-state = running | paused | holding |
 * ended), scene-title, scene-description, branches, branch-button (data-choice-id, data-hotkey),
 * pause-button / resume-button (exactly one visible), blank-button, replay-button, restart-button,
 * flag-button, flag-note, flag-save, flag-cancel, end-button, end-dialog, end-confirm, end-cancel,
 * live-rubric, timeline (newest first), session-summary, summary-*, open-debrief, back-to-library. */
import { S, isActive, addEvents, sortedEvents } from '../state.js';
import { $, h, announce, toast, confirmDialog } from '../dom.js';
import { api, enc, reportError } from '../api.js';
import { KIND_COLOURS, clock, pathTitles, textColourFor } from '../format.js';
import { showView, onLeave } from '../nav.js';
import { renderTimeline } from '../timeline.js';
import { renderRubric, rubricItems } from '../rubric.js';
import { renderMarkers, renderNext, resetThreat, startFrames, stopFrames, tickTimers } from './live_panels.js';

const V = { onDebrief: () => {}, onLibrary: () => {} };

/** Wire the buttons; onDebrief(id) opens a debrief, onLibrary() goes back to the library. */
export function initLive({ onDebrief, onLibrary }) {
  V.onDebrief = onDebrief; V.onLibrary = onLibrary;
  const ctl = (id, fn) => $(id).addEventListener('click', (e) => fn(e.currentTarget));
  ctl('pause-button', (b) => post('pause', {}, b));
  ctl('blank-button', (b) => post('pause', { blank: true }, b));
  ctl('resume-button', (b) => post('resume', {}, b));
  ctl('replay-button', (b) => post('replay', {}, b));
  ctl('restart-button', async (b) => {
    if (await confirmDialog('Restart the scenario?', 'The video goes back to the first scene. The record keeps everything so far.', 'Restart')) post('restart', {}, b);
  });
  ctl('flag-button', () => toggleFlag());
  ctl('flag-cancel', () => toggleFlag(false));
  $('flag-form').addEventListener('submit', saveFlag);
  ctl('end-button', openEndDialog);
  ctl('end-cancel', closeEndDialog);
  ctl('end-confirm', confirmEnd);
  $('end-modal').addEventListener('click', (e) => { if (e.target === e.currentTarget) closeEndDialog(); });
  ctl('open-debrief', () => { if (S.live) V.onDebrief(S.live.id); });
  ctl('back-to-library', () => V.onLibrary());
  onLeave('live', () => { stopFrames(); closeEndDialog(); });
}

/** Show a session live (confirmed = the box has said it runs). */
export function goLive(sess, confirmed) {
  const st = S.state;
  const known = !!(st && st.session && st.session.id === sess.id);
  if (S.view === 'live' && S.live && S.live.id === sess.id) return; // the socket got here first
  confirmed = confirmed || known;
  S.live = { id: sess.id, session: sess, scene: known ? st.scene : null, ended: false, confirmed, outcome: sess.outcome || null, rubric: null };
  if (known && st.rubric) S.live.rubric = st.rubric;
  S.busy = false;
  $('flag-form').hidden = true;
  $('branches').dataset.key = '';
  $('timeline').replaceChildren();
  $('timeline').dataset.top = '-1';
  $('live-rubric').dataset.trainee = '';
  if (!known) resetThreat();
  if (!confirmed) S.sceneBase = { t: 0, at: performance.now() };
  showView('live');
  startFrames();
  renderLive();
  announce('Session running: ' + (sess.scenario_title || ''));
}

/** The live session is over: show the summary. */
export function markEnded() {
  if (!S.live || S.live.ended) return;
  S.live.ended = true;
  S.live.session = Object.assign({}, S.live.session, { status: 'ended' });
  const st = S.state;
  if (st && st.session && st.session.id === S.live.id && isActive(st.session)) {
    S.state = Object.assign({}, st, { session: Object.assign({}, st.session, { status: 'ended' }) });
  }
  $('flag-form').hidden = true;
  closeEndDialog();
  stopFrames();
  if (S.view === 'live') {
    renderLive();
    $('summary-heading').focus({ preventScroll: true });
  }
  announce('Session ended' + (S.live.outcome ? ': ' + S.live.outcome : ''));
}

function liveStatus() {
  const L = S.live;
  if (L.ended) return 'ended';
  if (L.session.status === 'paused') return 'paused';
  if (L.scene && L.scene.held) return 'holding';
  return 'running';
}

/** Redraw the live view from S.live and the events. */
export function renderLive() {
  const L = S.live;
  if (!L) return;
  const sess = L.session;
  $('live-heading').textContent = sess.scenario_title || sess.scenario_id || 'Session';
  const tr = (sess.trainees || []).join(', ');
  $('live-trainees').textContent = [tr && 'Trainees: ' + tr, sess.instructor && 'Instructor: ' + sess.instructor,
    sess.safety_officer && 'Safety officer: ' + sess.safety_officer].filter(Boolean).join(' · ');

  const status = liveStatus();
  const badge = $('state-badge');
  if (badge.dataset.state !== status) {
    badge.dataset.state = status;
    badge.textContent = status.toUpperCase();
    if (status !== 'running') announce(status === 'holding' ? 'Holding: waiting for your choice' : status === 'paused' ? 'Paused' : '');
  }
  $('hold-hint').hidden = status !== 'holding';
  const scene = L.scene;
  $('scene-title').textContent = scene ? scene.title : (L.ended ? '' : 'Waiting for the box…');
  $('scene-desc').textContent = (scene && scene.description) || '';
  $('scene-desc').hidden = !(scene && scene.description);

  renderBranches(scene);
  renderNext(L.ended ? null : scene);
  const paused = status === 'paused';
  $('pause-button').hidden = paused;
  $('blank-button').hidden = paused;
  $('resume-button').hidden = !paused;
  $('live-controls').hidden = L.ended;
  $('summary').hidden = !L.ended;
  $('live-frame').classList.toggle('ended', L.ended);
  const evs = sortedEvents(L.id);
  if (L.ended) renderSummary(evs);
  setBusy(S.busy);
  renderTimeline($('timeline'), evs);
  renderMarkers(evs, scene ? scene.id : '');
  renderLiveRubric(evs);
  tickTimers();
}

function renderBranches(scene) {
  const box = $('branches');
  const choices = (scene && scene.choices) || [];
  const key = scene ? scene.id + '|' + JSON.stringify(choices) : '';
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  if (scene && !choices.length) {
    box.replaceChildren(h('p', { class: 'muted no-choices' }, 'No branch choices in this scene.'));
    return;
  }
  box.replaceChildren(...choices.map((c) => {
    const bg = c.colour || KIND_COLOURS[c.kind] || KIND_COLOURS.neutral;
    return h('button', {
      type: 'button', class: 'branch', testid: 'branch-button',
      dataset: { choiceId: c.id, hotkey: c.hotkey || '', kind: c.kind || 'neutral' },
      style: 'background:' + bg + ';color:' + textColourFor(bg),
      'aria-keyshortcuts': c.hotkey || null,
      onclick: (e) => post('branch', { choice: c.id }, e.currentTarget),
    }, h('span', { class: 'branch-label' }, c.label),
    c.hotkey && h('kbd', { class: 'hotkey', 'aria-hidden': 'true' }, c.hotkey.toUpperCase()));
  }));
}

function renderLiveRubric(evs) {
  const L = S.live;
  const box = $('live-rubric');
  $('rubric-panel').hidden = !L.rubric;
  if (!L.rubric) return;
  renderRubric(box, {
    items: rubricItems(L.rubric), trainees: L.session.trainees || [], events: evs, disabled: false,
    onScore: (item, score, trainee) => scoreRubric(L.id, item, score, trainee),
  });
}

/** POST a rubric score (live or after the end); the answer is the recorded event. */
export async function scoreRubric(id, item, score, trainee) {
  try {
    const ev = await api('POST', '/api/sessions/' + enc(id) + '/rubric', { item, score, trainee });
    if (ev && typeof ev.seq === 'number') addEvents([ev], id);
    if (S.live && S.live.id === id) renderLive();
    return ev;
  } catch (e) {
    reportError(e);
    return null;
  }
}

function setBusy(busy) {
  S.busy = busy;
  const off = busy || !S.live || S.live.ended;
  for (const b of document.querySelectorAll('#live-controls button')) b.disabled = off && b.id !== 'flag-cancel';
  $('flag-note').disabled = off;
}

async function post(action, body, sourceBtn) {
  if (!S.live || S.busy || S.live.ended) return false;
  const id = S.live.id;
  setBusy(true);
  if (sourceBtn) sourceBtn.classList.add('sending');
  try {
    absorb(await api('POST', '/api/sessions/' + enc(id) + '/' + action, body || {}), id);
    return true;
  } catch (e) {
    reportError(e);
    return false;
  } finally {
    if (sourceBtn) sourceBtn.classList.remove('sending');
    if (S.live) setBusy(false);
  }
}

/** Answers to control calls: an EVENT or a session, used only if the socket lags. */
function absorb(r, id) {
  if (!r || typeof r !== 'object' || !S.live || S.live.id !== id) return;
  if (typeof r.seq === 'number' && r.kind) { addEvents([r], id); if (r.kind === 'session_ended') { S.live.outcome = (r.data && r.data.outcome) || S.live.outcome; markEnded(); } else renderLive(); return; }
  if (r.id === id && typeof r.status === 'string') {
    S.live.session = Object.assign({}, S.live.session, r);
    if (r.status === 'ended') { S.live.outcome = r.outcome || S.live.outcome; markEnded(); } else renderLive();
  }
}

/** Press the branch button with this hotkey; true when one matched. */
export function hotkey(k) {
  if (!S.live || S.live.ended || S.busy) return false;
  const btn = [...$('branches').querySelectorAll('.branch')].find((b) => b.dataset.hotkey && b.dataset.hotkey === k);
  if (btn) btn.click();
  return !!btn;
}

export function toggleFlag(open) {
  const form = $('flag-form');
  open = open === undefined ? form.hidden : open;
  form.hidden = !open;
  $('flag-button').setAttribute('aria-expanded', String(open));
  if (open) { $('flag-note').value = ''; $('flag-note').focus(); }
}
async function saveFlag(e) {
  e.preventDefault();
  if (await post('flag', { note: $('flag-note').value.trim() }, $('flag-save'))) {
    toggleFlag(false);
    toast('Flag saved', 'info');
  }
}

function openEndDialog() {
  if (!S.live || S.live.ended) return;
  $('end-modal').hidden = false;
  $('main').inert = true;
  $('end-cancel').focus();
}
export function closeEndDialog() {
  $('main').inert = false;
  if ($('end-modal').hidden) return;
  $('end-modal').hidden = true;
  if (S.view === 'live' && !$('end-button').hidden) $('end-button').focus({ preventScroll: true });
}
export const endDialogOpen = () => !$('end-modal').hidden;
async function confirmEnd() {
  const btn = $('end-confirm');
  btn.disabled = true;
  $('end-modal').hidden = true;
  $('main').inert = false;
  await post('end', {}, $('end-button'));
  btn.disabled = false;
}

function renderSummary(evs) {
  const L = S.live;
  const endEv = evs.find((e) => e.kind === 'session_ended');
  const outcome = L.outcome || (endEv && endEv.data && endEv.data.outcome) || L.session.outcome;
  $('sum-outcome').textContent = outcome || 'No outcome (ended by the instructor)';
  const dur = endEv ? endEv.t_session_s : evs.reduce((m, e) => Math.max(m, Number(e.t_session_s) || 0), 0);
  $('sum-duration').textContent = clock(dur);
  const path = pathTitles(evs);
  $('sum-path').textContent = path.length ? path.join(' → ') : '—';
  $('sum-hits').textContent = String(evs.filter((e) => e.kind === 'hit').length);
  const flags = evs.filter((e) => e.kind === 'flagged');
  $('sum-flags').replaceChildren(...(flags.length ? flags.map((f) => h('li', {},
    clock(f.t_session_s) + ' – ' + ((f.data && f.data.note) || '(no note)'))) : [h('li', { class: 'muted' }, 'None')]));
}
