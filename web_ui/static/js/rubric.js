/* The de-escalation rubric: one row per item with 0..max buttons (one tap scores), per trainee when
 * there is more than one. Scores are read from rubric_scored events: the latest per (item, trainee).
 *
 * testids: rubric (the box), rubric-trainee (data-name, aria-pressed), rubric-item (data-item),
 * rubric-score (data-score, aria-pressed), rubric-total. Unscored items do not count toward the maximum
 * (as in the box's rubric_totals).
 */
import { h } from './dom.js';

const BUILT_IN = [
  { id: 'communication', label: 'Communication', max_score: 3 },
  { id: 'situational-awareness', label: 'Situational awareness', max_score: 3 },
  { id: 'proxemics', label: 'Body positioning / proxemics', max_score: 3 },
];

/** Items from the box (snapshot, debrief or scenario card); the built-ins when the box gives none. */
export function rubricItems(source) {
  const items = Array.isArray(source) ? source : source && Array.isArray(source.items) ? source.items : null;
  const list = items && items.length ? items : BUILT_IN;
  return list.map((it) => ({ id: it.id, label: it.label || it.id, max: Number(it.max_score ?? it.max ?? 3) }));
}

/** {trainee or '': {item: score}} from the events (latest wins). */
export function scoresFrom(events) {
  const out = {};
  for (const ev of events) {
    if (ev.kind !== 'rubric_scored' || !ev.data) continue;
    const who = ev.data.trainee || '';
    (out[who] = out[who] || {})[ev.data.item] = ev.data.score;
  }
  return out;
}

/**
 * Draw the rubric into box. opts: {items, trainees: [names], events, disabled, onScore(item, score,
 * trainee|null) -> Promise}. The picked trainee survives redraws (box.dataset.trainee).
 */
export function renderRubric(box, { items, trainees, events, disabled, onScore }) {
  const perTrainee = trainees.length > 1;
  let who = box.dataset.trainee || '';
  if (perTrainee && !trainees.includes(who)) who = trainees[0];
  if (!perTrainee) who = '';
  box.dataset.trainee = who;
  const key = JSON.stringify([items, trainees, who, disabled, scoresFrom(events)]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const mine = scoresFrom(events)[who] || {};
  const redraw = () => renderRubric(box, { items, trainees, events, disabled, onScore });
  const kids = [];
  if (perTrainee) {
    kids.push(h('div', { class: 'rubric-who', role: 'group', 'aria-label': 'Trainee scored' },
      trainees.map((name) => h('button', {
        type: 'button', class: 'btn chip-btn', testid: 'rubric-trainee', dataset: { name },
        'aria-pressed': String(name === who), onclick: () => { box.dataset.trainee = name; redraw(); },
      }, name))));
  }
  let total = 0, max = 0, scored = 0;
  for (const it of items) {
    const score = mine[it.id];
    if (typeof score === 'number') { total += score; max += it.max; scored += 1; }
    const buttons = [];
    for (let s = 0; s <= it.max; s++) {
      buttons.push(h('button', {
        type: 'button', class: 'score', testid: 'rubric-score', dataset: { score: s },
        'aria-pressed': String(score === s), 'aria-label': it.label + ' ' + s + ' of ' + it.max, disabled: disabled,
        onclick: async (e) => {
          const b = e.currentTarget;
          b.classList.add('sending');
          try { await onScore(it.id, s, who || null); } finally { b.classList.remove('sending'); }
        },
      }, String(s)));
    }
    kids.push(h('div', { class: 'rubric-item', testid: 'rubric-item', dataset: { item: it.id } },
      h('span', { class: 'rubric-label' }, it.label), h('div', { class: 'scores' }, buttons)));
  }
  kids.push(h('p', { class: 'rubric-total', testid: 'rubric-total' },
    'Total' + (who ? ' for ' + who : '') + ': ' + total + ' / ' + max + ' (' + scored + ' of ' + items.length + ' items scored)'));
  box.replaceChildren(...kids);
}
