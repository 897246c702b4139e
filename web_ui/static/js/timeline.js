/* Timeline lists (newest first in live, oldest first in the debrief): one <li data-testid="timeline-item"
 * data-seq data-kind> per EVENT. */
import { h } from './dom.js';
import { clock, eventDetail, KIND_LABELS } from './format.js';

/** One timeline row; with onPick the row is a button ("show on projector"). */
export function timelineItem(ev, onPick) {
  const kids = [
    h('span', { class: 'tl-time' }, clock(ev.t_session_s)),
    h('span', { class: 'tl-kind' }, KIND_LABELS[ev.kind] || ev.kind),
    h('span', { class: 'tl-detail' }, eventDetail(ev)),
    h('span', { class: 'tl-actor' }, ev.actor || ''),
  ];
  const li = h('li', { class: 'tl-item', testid: 'timeline-item', dataset: { seq: ev.seq, kind: ev.kind } });
  if (onPick) {
    li.classList.add('tl-pick');
    li.append(h('button', { type: 'button', class: 'tl-btn', 'aria-label': 'Show ' + eventDetail(ev) + ' on the projector', onclick: () => onPick(ev, li) }, kids));
  } else {
    li.append(...kids);
  }
  return li;
}

/**
 * Keep an <ol> in step with a session's events, newest first; appended incrementally when events
 * arrive in order, rebuilt otherwise. list.dataset.top holds the highest seq shown.
 */
export function renderTimeline(list, evs) {
  const top = Number(list.dataset.top ?? -1);
  const fresh = evs.filter((e) => e.seq > top);
  if (list.children.length + fresh.length !== evs.length) {
    list.replaceChildren(...evs.slice().reverse().map((e) => timelineItem(e)));
  } else {
    for (const ev of fresh) list.prepend(timelineItem(ev));
  }
  list.dataset.top = evs.length ? evs[evs.length - 1].seq : -1;
}
