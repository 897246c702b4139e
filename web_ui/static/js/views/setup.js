/* Session setup: trainees (with an optional role), instructor, optional safety officer; the remembered
 * roster as suggestions and one-tap chips; the last instructor remembered on this tablet.
 * testids: setup-title, trainee-input, trainee-role, trainee-add, trainee-list, trainee-chip (data-name,
 * data-role), trainee-remove, roster-chips, roster-chip (data-name), instructor-input, safety-input,
 * start-session, setup-error, goto-running-session, setup-back. */
import { S, store, K_INSTRUCTOR, K_SAFETY } from '../state.js';
import { $, h } from '../dom.js';
import { api } from '../api.js';
import { audienceLabel, minutes } from '../format.js';
import { showView } from '../nav.js';

export const ROLES = ['nurse', 'security officer', 'officer', 'corrections officer', 'teacher', 'other'];
const U = { setup: null, roster: null, onStarted: () => {}, onRunning: () => {} };

/** Wire the view; onStarted(session) goes live, onRunning() follows a session already running. */
export function initSetup({ onBack, onStarted, onRunning }) {
  U.onStarted = onStarted; U.onRunning = onRunning;
  $('trainee-role').replaceChildren(h('option', { value: '' }, 'Role (optional)'),
    ...ROLES.map((r) => h('option', { value: r }, r.charAt(0).toUpperCase() + r.slice(1))));
  $('setup-back').addEventListener('click', onBack);
  $('trainee-add').addEventListener('click', () => { addTrainee(); $('trainee-input').focus(); });
  $('trainee-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); addTrainee(); }
  });
  $('setup-form').addEventListener('submit', startSession);
  $('goto-running').addEventListener('click', () => U.onRunning());
}

/** Open the setup of one scenario. */
export function goSetup(sc) {
  U.setup = { scenario: sc, trainees: [] };
  $('setup-heading').textContent = sc.title;
  $('setup-meta').textContent = [minutes(sc.duration_s), (sc.audience || []).map(audienceLabel).join(', ')].filter(Boolean).join(' · ');
  $('trainee-input').value = '';
  $('trainee-role').value = '';
  $('instructor-input').value = store.get(K_INSTRUCTOR);
  $('safety-input').value = store.get(K_SAFETY);
  setSetupError('');
  renderTrainees();
  showView('setup');
  loadRoster();
}

async function loadRoster() {
  try {
    U.roster = await api('GET', '/api/roster');
  } catch (e) {
    U.roster = null; // an older box without a roster: no suggestions
  }
  const r = U.roster || {};
  const opts = (list) => (list || []).map((v) => h('option', { value: typeof v === 'string' ? v : v.name }));
  $('roster-trainees').replaceChildren(...opts(r.trainees));
  $('roster-instructors').replaceChildren(...opts(r.instructors));
  $('roster-safety').replaceChildren(...opts(r.safety_officers));
  renderRosterChips();
}

function renderRosterChips() {
  const picked = new Set((U.setup ? U.setup.trainees : []).map((t) => t.name.toLowerCase()));
  const list = ((U.roster && U.roster.trainees) || []).filter((t) => !picked.has(String(t.name).toLowerCase())).slice(0, 12);
  $('roster-label').hidden = !list.length;
  $('roster-chips').replaceChildren(...list.map((t) => h('button', {
    type: 'button', class: 'btn chip-btn', testid: 'roster-chip', dataset: { name: t.name },
    'aria-label': 'Add ' + t.name, onclick: () => { pushTrainee(t.name, t.role || ''); },
  }, '+ ' + t.name + (t.role ? ' · ' + t.role : ''))));
}

function renderTrainees() {
  const t = U.setup ? U.setup.trainees : [];
  $('trainee-chips').replaceChildren(...t.map((tr, i) => h('li', {
    class: 'chip chip-x', testid: 'trainee-chip', dataset: { name: tr.name, role: tr.role || '' },
  },
  h('span', {}, tr.name + (tr.role ? ' · ' + tr.role : '')),
  h('button', {
    type: 'button', class: 'chip-remove', testid: 'trainee-remove', 'aria-label': 'Remove ' + tr.name,
    onclick: () => { t.splice(i, 1); renderTrainees(); },
  }, '×'))));
  renderRosterChips();
}

function pushTrainee(name, role) {
  if (!U.setup) return;
  const t = U.setup.trainees;
  const known = t.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (known) { if (role) known.role = role; } else t.push({ name, role });
  setSetupError('');
  renderTrainees();
}

function addTrainee() {
  const inp = $('trainee-input');
  const name = inp.value.trim().replace(/\s+/g, ' ');
  if (!name || !U.setup) return false;
  let role = $('trainee-role').value;
  if (!role && U.roster) {
    const seen = (U.roster.trainees || []).find((x) => String(x.name).toLowerCase() === name.toLowerCase());
    role = (seen && seen.role) || '';
  }
  pushTrainee(name, role);
  inp.value = '';
  $('trainee-role').value = '';
  return true;
}

export function setSetupError(msg, offerRunning = false) {
  $('setup-error').hidden = !msg;
  $('setup-error-text').textContent = msg || '';
  $('goto-running').hidden = !offerRunning;
}

async function startSession(e) {
  e.preventDefault();
  if (!U.setup || S.busy) return;
  addTrainee(); // a name typed but not yet added counts
  if (!U.setup.trainees.length) {
    setSetupError('Add at least one trainee.');
    $('trainee-input').focus();
    return;
  }
  const instructor = $('instructor-input').value.trim();
  const safety = $('safety-input').value.trim();
  store.set(K_INSTRUCTOR, instructor);
  store.set(K_SAFETY, safety);
  const body = {
    scenario_id: U.setup.scenario.id,
    trainees: U.setup.trainees.map((t) => (t.role ? { name: t.name, role: t.role } : t.name)),
  };
  if (instructor) body.instructor = instructor;
  if (safety) body.safety_officer = safety;
  const btn = $('start-session');
  btn.disabled = true; S.busy = true;
  try {
    const sess = await api('POST', '/api/sessions', body);
    S.busy = false;
    U.onStarted(Object.assign({ scenario_title: U.setup.scenario.title, status: 'running' }, sess));
  } catch (err) {
    if (err.handled) return;
    setSetupError(err.message, err.status === 409);
  } finally {
    btn.disabled = false; S.busy = false;
  }
}
