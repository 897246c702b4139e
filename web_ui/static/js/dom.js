/* DOM helpers: element lookup, the h() builder, toasts, screen-reader announcements, a confirm dialog. */

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** Build an element: h('li', {class: 'x', dataset: {seq: 1}, testid: 't', onclick: fn}, 'text', child). */
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'style') el.style.cssText = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) el.append(kid);
  return el;
}

/** A short message at the bottom of the screen; kind = error | info. */
export function toast(msg, kind = 'error') {
  const box = $('toasts');
  const el = h('div', { class: 'toast toast-' + kind, testid: 'toast', dataset: { kind } },
    h('span', {}, msg), h('button', { type: 'button', class: 'toast-x', 'aria-label': 'Dismiss' }, '×'));
  const close = () => el.remove();
  el.addEventListener('click', close);
  box.prepend(el);
  while (box.children.length > 4) box.lastElementChild.remove();
  setTimeout(close, kind === 'error' ? 7000 : 4000);
}

let announceTimer = 0;
/** Say something to screen readers (polite). */
export function announce(msg) {
  const el = $('announcer');
  el.textContent = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { el.textContent = msg; }, 50);
}

/**
 * Ask a yes/no question in the shared confirm dialog; resolves true when confirmed.
 * testids: confirm-dialog, confirm-text, confirm-ok, confirm-cancel.
 */
export function confirmDialog(title, text, okLabel = 'OK', danger = true) {
  const modal = $('confirm-modal');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  const ok = $('confirm-ok');
  ok.textContent = okLabel;
  ok.classList.toggle('btn-danger', danger);
  ok.classList.toggle('btn-go', !danger);
  const before = document.activeElement;
  modal.hidden = false;
  $('main').inert = true;
  $('confirm-cancel').focus();
  return new Promise((resolve) => {
    const done = (answer) => {
      modal.hidden = true;
      $('main').inert = false;
      modal.onclick = null; ok.onclick = null; $('confirm-cancel').onclick = null; modal.onkeydown = null;
      if (before && before.focus) before.focus({ preventScroll: true });
      resolve(answer);
    };
    ok.onclick = () => done(true);
    $('confirm-cancel').onclick = () => done(false);
    modal.onclick = (e) => { if (e.target === modal) done(false); };
    modal.onkeydown = (e) => { if (e.key === 'Escape') { e.preventDefault(); done(false); } };
  });
}

/** True while the shared confirm dialog is open. */
export const confirmOpen = () => !$('confirm-modal').hidden;
