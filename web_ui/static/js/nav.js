/* Views: <body data-view>, one <section data-testid="view-NAME"> shown at a time, and the menu. */
import { S, isAdmin, isActive } from './state.js';
import { $ } from './dom.js';

const VIEWS = ['loading', 'pair', 'library', 'setup', 'live', 'debrief', 'records', 'history', 'admin'];
const leaveHooks = {};

/** Run fn when the page leaves the named view (stop polling, timers...). */
export function onLeave(name, fn) { leaveHooks[name] = fn; }

/** Show one view, focus its heading, close the menu. */
export function showView(name) {
  const prev = S.view;
  if (prev !== name && leaveHooks[prev]) leaveHooks[prev]();
  S.view = name;
  document.body.dataset.view = name;
  for (const v of VIEWS) $('view-' + v).hidden = v !== name;
  $('menu-button').hidden = !S.token;
  $('menu-admin').hidden = !isAdmin();
  closeMenu();
  refreshLiveLink();
  if (prev !== name) {
    window.scrollTo(0, 0);
    const el = $('view-' + name).querySelector('h1');
    if (el && !(document.activeElement && /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName))) el.focus({ preventScroll: true });
  }
}

export function closeMenu() {
  $('menu').hidden = true;
  $('menu-button').setAttribute('aria-expanded', 'false');
}

export function toggleMenu() {
  const open = $('menu').hidden;
  $('menu').hidden = !open;
  $('menu-button').setAttribute('aria-expanded', String(open));
}

/** The "session running" link in the header, shown while a session runs and another view is up. */
export function refreshLiveLink() {
  const running = !!(S.state && isActive(S.state.session));
  $('goto-live').hidden = !(running && S.view !== 'live' && S.view !== 'pair' && S.view !== 'loading');
  $('menu-live').hidden = !running;
}
