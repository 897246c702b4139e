/* Debrief of one session (after the end, or from the records): the timeline (tap an entry to show that
 * moment on the projector), the branch graph with the path highlighted, each hit on its frame, scores,
 * the rubric (editable after the end), CSV and report links.
 * testids: view-debrief, debrief-title, debrief-meta, debrief-score, debrief-graph, debrief-rubric,
 * hit-gallery, hit-card (data-seq), hit-frame, debrief-timeline (oldest first) of timeline-item,
 * replay-moment (data-seq, in the hit cards), debrief-csv, debrief-report, debrief-back. */
import { S, addEvents, sortedEvents } from '../state.js';
import { $, h, toast } from '../dom.js';
import { api, enc, reportError } from '../api.js';
import { clock, dateTime, pathTitles } from '../format.js';
import { showView } from '../nav.js';
import { timelineItem } from '../timeline.js';
import { renderRubric, rubricItems } from '../rubric.js';
import { scoreRubric } from './live.js';
import { showReplaying } from './replay.js';
import { openGraph } from './library.js';

const D = { id: null, data: null, back: () => {} };

export function initDebrief() {
  $('debrief-back').addEventListener('click', () => D.back());
  $('debrief-graph').addEventListener('click', () => {
    const title = (D.data && D.data.session && D.data.session.scenario_title) || 'path taken';
    openGraph(title, $('debrief-graph').src);
  });
}

/** Open the debrief of a session; back() is where the Back button goes. */
export async function goDebrief(id, back) {
  D.id = id; D.data = null; D.back = back;
  $('debrief-title').textContent = 'Debrief';
  $('debrief-msg').textContent = 'Loading…';
  $('debrief-body').hidden = true;
  showView('debrief');
  let d;
  try {
    d = await api('GET', '/api/sessions/' + enc(id) + '/debrief');
  } catch (e) {
    if (e.status === 404 && e.message === 'Not Found') {
      // an older box without the debrief endpoint: the plain record
      try { d = await api('GET', '/api/sessions/' + enc(id)); } catch (e2) { d = null; e = e2; }
    }
    if (!d) {
      if (!e.handled) $('debrief-msg').textContent = "Couldn't load the debrief: " + e.message;
      return;
    }
  }
  if (D.id !== id) return;
  D.data = d;
  addEvents(d.events, id);
  $('debrief-msg').textContent = '';
  $('debrief-body').hidden = false;
  render();
}

/** Redraw when new events arrive for the open session (a rubric score from another tablet). */
export function debriefEvent(ev) {
  if (S.view === 'debrief' && D.data && ev.session_id === D.id) render();
}

function render() {
  const d = D.data, id = D.id;
  const sess = d.session || {};
  const evs = sortedEvents(id);
  $('debrief-title').textContent = 'Debrief: ' + (sess.scenario_title || sess.scenario_id || '');
  const roles = sess.trainee_roles || {};
  const trainees = (sess.trainees || []).map((n) => (roles[n] ? n + ' (' + roles[n] + ')' : n)).join(', ');
  $('debrief-meta').textContent = [dateTime(sess.started_at), trainees && 'Trainees: ' + trainees,
    sess.instructor && 'Instructor: ' + sess.instructor, sess.safety_officer && 'Safety officer: ' + sess.safety_officer]
    .filter(Boolean).join(' · ');
  $('debrief-csv').href = '/api/sessions/' + enc(id) + '/export.csv';
  $('debrief-report').href = '/api/sessions/' + enc(id) + '/report';
  renderScore(d.score || {}, evs, sess);
  renderGraph(d.graph_url);
  const rub = $('debrief-rubric');
  $('debrief-rubric-panel').hidden = !d.rubric;
  if (d.rubric) {
    renderRubric(rub, {
      items: rubricItems(d.rubric), trainees: sess.trainees || [], events: evs, disabled: false,
      onScore: async (item, score, trainee) => { if (await scoreRubric(id, item, score, trainee)) render(); },
    });
  }
  renderHits(d.hits, evs);
  const list = $('debrief-timeline');
  const key = evs.map((e) => e.seq).join(',');
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    list.replaceChildren(...evs.map((e) => timelineItem(e, replayMoment)));
  }
}

function renderScore(score, evs, sess) {
  const path = pathTitles(evs);
  const rows = [
    ['Outcome', score.outcome || sess.outcome || 'No outcome'],
    ['Duration', clock(score.duration_s)],
    ['Path', path.join(' → ') || '—'],
    ['Hits', String(score.hits ?? evs.filter((e) => e.kind === 'hit').length)],
    ['No-shoot hits', String(score.no_shoot_hits ?? 0)],
    ['Misses', String(score.misses ?? 0)],
    ['Flags', String(score.flags ?? evs.filter((e) => e.kind === 'flagged').length)],
  ];
  $('debrief-score').replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { dataset: { key: k } }, v)]));
}

function renderGraph(url) {
  const img = $('debrief-graph');
  $('debrief-graph-panel').hidden = !url;
  if (!url || img.getAttribute('src') === url) return;
  img.onerror = () => { $('debrief-graph-panel').hidden = true; };
  img.src = url;
}

function renderHits(hits, evs) {
  const list = Array.isArray(hits) ? hits
    : evs.filter((e) => e.kind === 'hit').map((e) => ({ seq: e.seq, x: e.data.x, y: e.data.y, zones: e.data.zones, t_session_s: e.t_session_s }));
  $('hits-panel').hidden = !list.length;
  const box = $('hit-gallery');
  const key = list.map((x) => x.seq).join(',');
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(...list.map((hit, i) => {
    const zones = (hit.zones || []).map((z) => (typeof z === 'string' ? z : z.kind + ' ' + z.id)).join(', ') || 'no zone';
    const fig = h('figure', { class: 'hit-card', testid: 'hit-card', dataset: { seq: hit.seq } });
    if (hit.frame_url) {
      const img = h('img', { src: hit.frame_url, alt: 'Frame of hit ' + (i + 1), loading: 'lazy', decoding: 'async', testid: 'hit-frame', width: 320, height: 180 });
      img.addEventListener('error', () => img.replaceWith(h('div', { class: 'thumb' }, h('span', { class: 'thumb-ph' }, '?'))));
      fig.append(img);
    }
    fig.append(h('figcaption', {}, h('b', {}, 'Hit ' + (i + 1)), ' at ' + clock(hit.t_session_s) + ' – ' + zones),
      h('button', {
        type: 'button', class: 'btn', testid: 'replay-moment', dataset: { seq: hit.seq },
        onclick: () => replayMoment({ seq: hit.seq }),
      }, 'Show on projector'));
    return fig;
  }));
}

/** Play the moment of an event on the projector (no record written); the stop button is in the banner. */
async function replayMoment(ev) {
  try {
    await api('POST', '/api/sessions/' + enc(D.id) + '/replay-moment', { seq: ev.seq, lead_in_s: 3 });
    showReplaying(true);
    toast('Showing that moment on the projector', 'info');
  } catch (e) {
    if (e.status === 404 && !e.handled) toast('This box cannot replay moments yet.');
    else reportError(e);
  }
}
