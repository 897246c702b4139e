/* Training records: sessions newest first (debrief, CSV, printable report, delete for admins), CSV export
 * of a date range, and one trainee's history (tap a name).
 * testids: view-records, records-list, record-row (data-session-id), record-trainee (data-name),
 * record-debrief, record-csv, record-report, record-delete, records-since, records-until,
 * records-export, records-message; view-history, history-title, history-list, history-row
 * (data-session-id), history-back. */
import { S, isAdmin } from '../state.js';
import { $, h, confirmDialog, toast } from '../dom.js';
import { api, enc, reportError } from '../api.js';
import { clock, dateTime } from '../format.js';
import { showView } from '../nav.js';

const R = { onDebrief: () => {} };

/** Wire the view; onDebrief(id, back) opens a debrief. */
export function initRecords({ onDebrief }) {
  R.onDebrief = onDebrief;
  $('records-since').addEventListener('change', exportLink);
  $('records-until').addEventListener('change', exportLink);
  $('history-back').addEventListener('click', goRecords);
  exportLink();
}

function exportLink() {
  const q = new URLSearchParams();
  if ($('records-since').value) q.set('since', $('records-since').value);
  if ($('records-until').value) q.set('until', $('records-until').value);
  $('records-export').href = '/api/records/export.csv' + (q.toString() ? '?' + q : '');
}

const outcomeOf = (s) => s.outcome || (s.status === 'interrupted' ? 'interrupted' : s.status === 'ended' ? 'no outcome' : s.status);
const isOver = (s) => s.status !== 'running' && s.status !== 'paused';

function nameButton(name, role) {
  return h('button', {
    type: 'button', class: 'btn chip-btn', testid: 'record-trainee', dataset: { name },
    onclick: () => goHistory(name),
  }, name + (role ? ' · ' + role : ''));
}

/** Links for one session: debrief, CSV, report (and delete for admins). */
function actions(s, reload) {
  const id = enc(s.id);
  return h('div', { class: 'rec-actions' },
    h('button', { type: 'button', class: 'btn', testid: 'record-debrief', onclick: () => R.onDebrief(s.id, reload) }, 'Debrief'),
    h('a', { class: 'btn', testid: 'record-csv', href: '/api/sessions/' + id + '/export.csv', download: '' }, 'CSV'),
    h('a', { class: 'btn', testid: 'record-report', href: '/api/sessions/' + id + '/report', target: '_blank', rel: 'noopener' }, 'Report'),
    isAdmin() && isOver(s) && h('button', {
      type: 'button', class: 'btn btn-danger', testid: 'record-delete',
      onclick: async () => {
        const what = (s.scenario_title || s.scenario_id) + ', ' + dateTime(s.started_at);
        if (!await confirmDialog('Delete this record?', what + ': the session and all its events are deleted for good.', 'Delete')) return;
        try {
          await api('DELETE', '/api/sessions/' + id);
          toast('Record deleted', 'info');
          reload();
        } catch (e) { reportError(e); }
      },
    }, 'Delete'));
}

/** The records list, newest first. */
export async function goRecords() {
  showView('records');
  const msg = $('records-msg');
  msg.textContent = 'Loading…';
  try {
    const list = (await api('GET', '/api/sessions?limit=200')) || [];
    msg.textContent = list.length ? '' : 'No sessions recorded yet.';
    $('records-list').replaceChildren(...list.map((s) => {
      const roles = s.trainee_roles || {};
      return h('li', { class: 'panel rec', testid: 'record-row', dataset: { sessionId: s.id, status: s.status } },
        h('div', { class: 'rec-head' },
          h('b', { class: 'rec-title' }, s.scenario_title || s.scenario_id),
          h('span', { class: 'muted' }, dateTime(s.started_at)),
          h('span', { class: 'badge rec-outcome', dataset: { state: isOver(s) ? 'ended' : 'running' } }, outcomeOf(s))),
        h('div', { class: 'rec-people' },
          (s.trainees || []).map((n) => nameButton(n, roles[n])),
          s.instructor && h('span', { class: 'muted' }, 'Instructor: ' + s.instructor)),
        actions(s, goRecords));
    }));
  } catch (e) {
    if (!e.handled) msg.textContent = "Couldn't load the records: " + e.message;
  }
}

/** One trainee's sessions, newest first, with scores and rubric totals. */
export async function goHistory(name) {
  $('history-title').textContent = 'Trainee: ' + name;
  $('history-msg').textContent = 'Loading…';
  $('history-list').replaceChildren();
  showView('history');
  try {
    const r = await api('GET', '/api/trainees/' + enc(name) + '/history');
    const list = (r && r.sessions) || [];
    $('history-msg').textContent = list.length ? list.length + (list.length === 1 ? ' session' : ' sessions') : 'No sessions for this name.';
    $('history-list').replaceChildren(...list.map((s) => {
      const sc = s.score || {};
      const rub = s.rubric_total;
      return h('li', { class: 'panel rec', testid: 'history-row', dataset: { sessionId: s.id } },
        h('div', { class: 'rec-head' },
          h('b', { class: 'rec-title' }, s.scenario_title || s.scenario_id),
          h('span', { class: 'muted' }, dateTime(s.started_at)),
          h('span', { class: 'badge rec-outcome', dataset: { state: 'ended' } }, outcomeOf(s))),
        h('p', { class: 'rec-score' }, [
          'Duration ' + clock(sc.duration_s), 'hits ' + (sc.hits ?? 0), 'no-shoot ' + (sc.no_shoot_hits ?? 0),
          'flags ' + (sc.flags ?? 0), rub ? 'rubric ' + rub.score + ' / ' + rub.max : 'rubric not scored',
        ].join(' · ')),
        actions(s, () => goHistory(name)));
    }));
  } catch (e) {
    if (e.handled) return;
    $('history-msg').textContent = e.status === 404 ? 'This box keeps no per-trainee history yet.' : "Couldn't load the history: " + e.message;
  }
}
