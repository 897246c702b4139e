/* The scenario library: cards (thumbnail, duration, audience, objectives), search, audience filter,
 * and each scenario's branch map.
 * testids: scenario-search, audience-filter (data-audience, aria-pressed), scenario-list,
 * scenario-card (data-scenario-id), scenario-thumb, branch-map-button, graph-dialog, graph-image,
 * graph-close, library-message. */
import { S } from '../state.js';
import { $, h } from '../dom.js';
import { api } from '../api.js';
import { audienceLabel, minutes } from '../format.js';
import { showView } from '../nav.js';

const L = { audiences: new Set(), onPick: () => {} };

/** Wire the view; onPick(scenario) opens its session setup. */
export function initLibrary(onPick) {
  L.onPick = onPick;
  $('search').addEventListener('input', renderCards);
  $('library-retry').addEventListener('click', loadScenarios);
  $('graph-close').addEventListener('click', closeGraph);
  $('graph-modal').addEventListener('click', (e) => { if (e.target === e.currentTarget) closeGraph(); });
}

export function goLibrary() {
  S.live = null;
  showView('library');
  loadScenarios();
}

async function loadScenarios() {
  const msg = $('library-msg');
  $('library-retry').hidden = true;
  if (!S.scenarios) msg.textContent = 'Loading scenarios…';
  try {
    S.scenarios = (await api('GET', '/api/scenarios')) || [];
    renderFilters();
    renderCards();
  } catch (e) {
    if (e.handled) return;
    msg.textContent = "Couldn't load the scenarios: " + e.message;
    $('library-retry').hidden = false;
  }
}

function renderFilters() {
  const all = [...new Set((S.scenarios || []).flatMap((sc) => sc.audience || []))].sort();
  for (const a of [...L.audiences]) if (!all.includes(a)) L.audiences.delete(a);
  $('audience-filters').replaceChildren(...(all.length > 1 ? all : []).map((a) => h('button', {
    type: 'button', class: 'btn chip-btn', testid: 'audience-filter', dataset: { audience: a },
    'aria-pressed': String(L.audiences.has(a)),
    onclick: (e) => {
      if (L.audiences.has(a)) L.audiences.delete(a); else L.audiences.add(a);
      e.currentTarget.setAttribute('aria-pressed', String(L.audiences.has(a)));
      renderCards();
    },
  }, audienceLabel(a))));
}

function matches(sc, q) {
  if (L.audiences.size && !(sc.audience || []).some((a) => L.audiences.has(a))) return false;
  if (!q) return true;
  const hay = [sc.title, sc.summary, ...(sc.objectives || []), ...(sc.audience || []), ...(sc.audience || []).map(audienceLabel)]
    .join(' ').toLowerCase();
  return q.split(/\s+/).every((w) => hay.includes(w));
}

function renderCards() {
  const list = S.scenarios || [];
  const q = $('search').value.trim().toLowerCase();
  const shown = list.filter((sc) => matches(sc, q));
  $('library-msg').textContent = !list.length ? 'No scenarios installed on this box yet.'
    : !shown.length ? 'No scenario matches the search or filter.' : '';
  $('cards').replaceChildren(...shown.map(card));
}

function thumb(sc) {
  const box = h('div', { class: 'thumb', testid: 'scenario-thumb', 'aria-hidden': 'true' },
    h('span', { class: 'thumb-ph' }, (sc.title || '?').slice(0, 1).toUpperCase()));
  if (sc.thumbnail_url) {
    const img = h('img', { src: sc.thumbnail_url, alt: '', loading: 'lazy', decoding: 'async', width: 320, height: 180 });
    img.addEventListener('load', () => box.classList.add('loaded'));
    img.addEventListener('error', () => img.remove());
    box.append(img);
  }
  return box;
}

function card(sc) {
  const objectives = sc.objectives || [];
  const meta = [minutes(sc.duration_s), sc.scene_count ? sc.scene_count + (sc.scene_count === 1 ? ' scene' : ' scenes') : '']
    .filter(Boolean).join(' · ');
  const el = h('article', { class: 'card', testid: 'scenario-card', dataset: { scenarioId: sc.id } },
    thumb(sc),
    h('h2', { class: 'card-title' },
      h('button', { type: 'button', class: 'card-open', 'aria-label': 'Set up ' + sc.title }, sc.title)),
    h('ul', { class: 'chips chips-static', 'aria-label': 'Audience' },
      (sc.audience || []).map((a) => h('li', { class: 'chip' }, audienceLabel(a)))),
    meta && h('p', { class: 'card-meta' }, meta),
    sc.summary && h('p', { class: 'card-summary' }, sc.summary),
    objectives.length > 0 && h('details', { class: 'objectives' },
      h('summary', {}, 'Learning objectives (' + objectives.length + ')'),
      h('ul', {}, objectives.map((o) => h('li', {}, o)))),
    h('div', { class: 'card-foot' },
      sc.graph_url && h('button', {
        type: 'button', class: 'btn btn-ghost', testid: 'branch-map-button',
        onclick: (e) => { e.stopPropagation(); openGraph(sc.title, sc.graph_url); },
      }, 'Branch map'),
      h('span', { class: 'card-go', 'aria-hidden': 'true' }, 'Set up ›')));
  el.addEventListener('click', (e) => {
    if (e.target.closest('details')) return; // the objectives toggle is its own tap target
    L.onPick(sc);
  });
  return el;
}

/** Show an SVG branch map in the graph dialog. */
export function openGraph(title, url) {
  $('graph-title').textContent = 'Branch map: ' + title;
  const img = $('graph-image');
  $('graph-msg').textContent = '';
  img.hidden = false;
  img.onerror = () => { img.hidden = true; $('graph-msg').textContent = 'The box could not draw this branch map.'; };
  img.src = url;
  $('graph-modal').hidden = false;
  $('main').inert = true;
  $('graph-close').focus();
}
export function closeGraph() {
  if ($('graph-modal').hidden) return;
  $('graph-modal').hidden = true;
  $('main').inert = false;
}
