/* The live feed: one WebSocket with a snapshot on connect, reconnecting with backoff; connection state
 * in the header (data-state = connected | reconnecting | offline | idle). */
import { S } from './state.js';
import { $ } from './dom.js';

const CONN_LABELS = { connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline', idle: 'Not paired' };
const WS = { sock: null, retryMs: 500, timer: 0, lostAt: 0 };
const hooks = { message: () => {}, expired: () => {}, refused: () => {} };

/** Set what happens on a message, on a rejected token, and when a handshake fails without a reason. */
export function setFeedHandlers({ message, expired, refused }) {
  Object.assign(hooks, { message, expired, refused });
}

/** Show the connection state in the header. */
export function setConn(state) {
  const el = $('conn');
  if (el.dataset.state === state) return;
  el.dataset.state = state;
  el.querySelector('.conn-label').textContent = CONN_LABELS[state];
}

/** (Re)open the feed with the current token. */
export function connectWS() {
  clearTimeout(WS.timer);
  if (!S.token) return;
  if (WS.sock) { WS.sock.onclose = null; try { WS.sock.close(); } catch { /* ignore */ } WS.sock = null; }
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
    '/api/ws?token=' + encodeURIComponent(S.token);
  let sock;
  try { sock = new WebSocket(url); } catch { scheduleReconnect(); return; }
  WS.sock = sock;
  let opened = false;
  sock.onopen = () => { opened = true; WS.retryMs = 500; WS.lostAt = 0; setConn('connected'); };
  sock.onmessage = (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    hooks.message(m);
  };
  sock.onerror = () => { /* onclose follows */ };
  sock.onclose = (ev) => {
    if (WS.sock !== sock) return;
    WS.sock = null;
    if (ev.code === 4401 || ev.code === 4403 || ev.code === 1008) { hooks.expired(); return; }
    // A refused handshake hides its HTTP status from scripts: ask over HTTP (a 401 unpairs).
    if (!opened) hooks.refused();
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  if (!S.token) return;
  if (!WS.lostAt) WS.lostAt = Date.now();
  setConn(!navigator.onLine || Date.now() - WS.lostAt > 10000 ? 'offline' : 'reconnecting');
  const delay = WS.retryMs;
  WS.retryMs = Math.min(WS.retryMs * 2, 5000);
  WS.timer = setTimeout(connectWS, delay);
}

/** Close the feed for good (unpaired). */
export function disconnectWS() {
  clearTimeout(WS.timer);
  if (WS.sock) { WS.sock.onclose = null; try { WS.sock.close(1000); } catch { /* ignore */ } }
  WS.sock = null; WS.retryMs = 500; WS.lostAt = 0;
  setConn('idle');
}

/** Try again now (back online, page visible again). */
export function nudgeWS() {
  if (S.token && !WS.sock) { WS.retryMs = 500; connectWS(); }
}

/** Called 4x a second: amber for the first 10 s without the socket, red after that. */
export function watchConn() {
  if (S.token && WS.lostAt && Date.now() - WS.lostAt > 10000) setConn('offline');
}

/** True while the socket is open or opening. */
export const feedUp = () => !!WS.sock;
