/* OpenRange tablet page: vanilla JS, no build step, no external resources.
 *
 * Views: loading -> pair | library -> setup -> live. <body data-view> names the current one;
 * each is a <section data-testid="view-NAME">, hidden when not current.
 *
 * data-testid scheme (stable, for browser tests):
 *   header:  connection-state (data-state = connected | reconnecting | offline | idle = not paired),
 *            hardware-warnings (hidden when none), hardware-mode, menu-button, unpair-button
 *   pair:    pin-input-digit-0..9, pin-backspace, pin-display (data-length), pair-button, pair-error
 *   library: scenario-search, scenario-list, scenario-card (data-scenario-id), library-message
 *   setup:   setup-title, trainee-input, trainee-add, trainee-list, trainee-chip (data-name),
 *            trainee-remove, instructor-input, start-session, setup-error, goto-running-session, setup-back
 *   live:    live-scenario-title, live-trainees, state-badge (data-state = running | paused |
 *            holding | ended), scene-title, scene-description, scene-time, branches, branch-button
 *            (data-choice-id, data-hotkey), replay-button, flag-button, flag-note, flag-save,
 *            flag-cancel, end-button, end-dialog, end-confirm, end-cancel, timeline (<ol>, newest
 *            first) of timeline-item (data-seq, data-kind), session-summary, summary-outcome,
 *            summary-duration, summary-path, summary-hits, summary-flags, back-to-library
 *   PAUSE/RESUME: two separate buttons, exactly one visible (the other has `hidden`):
 *            pause-button while running, resume-button while paused.
 *   misc:    toasts (aria-live region) holding toast elements (data-kind), announcer (polite).
 * Live buttons are `disabled` while a request is in flight and once the session has ended.
 * Time in scene ticks locally from the last STATE's scene_time_s while the session is running
 * (HOLDING included) and stands still while paused.
 */
'use strict';
(() => {
  const K_TOKEN = 'openrange.token', K_CSRF = 'openrange.csrf', K_ROLE = 'openrange.role',
    K_INSTRUCTOR = 'openrange.instructor';
  const EXPIRED_MSG = 'Pairing expired, enter the PIN again';
  const PIN_MIN = 4, PIN_MAX = 12;
  const KIND_COLOURS = { 'de-escalate': '#2e7d32', comply: '#1565c0', escalate: '#c62828', neutral: '#616161' };

  const $ = (id) => document.getElementById(id);
  const store = {
    get: (k) => { try { return localStorage.getItem(k) || ''; } catch { return ''; } },
    set: (k, v) => { try { if (v) localStorage.setItem(k, v); else localStorage.removeItem(k); } catch { /* private mode */ } },
  };

  /** Build an element: h('li', {class: 'x', dataset: {seq: 1}, onclick: fn}, 'text', child). */
  function h(tag, attrs, ...kids) {
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

  const S = {
    token: store.get(K_TOKEN), csrf: store.get(K_CSRF),
    view: 'loading',
    state: null,
    scenarios: null,
    setup: null,
    live: null, // {id, session, scene, ended, confirmed, outcome}
    events: new Map(), // session id -> Map(seq -> EVENT)
    sceneBase: { t: 0, at: 0 },
    busy: false,
    pin: '', pairLockUntil: 0, pairing: false,
  };

  // -- formatting
  const pad2 = (n) => String(n).padStart(2, '0');
  function clock(s) {
    s = Math.max(0, Math.floor(Number(s) || 0));
    return pad2(Math.floor(s / 60)) + ':' + pad2(s % 60);
  }
  const audienceLabel = (a) => { const t = String(a).replace(/-/g, ' '); return t.charAt(0).toUpperCase() + t.slice(1); };
  const num2 = (v) => (typeof v === 'number' ? v.toFixed(2) : '?');
  function minutes(sec) {
    if (!(sec > 0)) return '';
    return sec < 60 ? '< 1 min' : '≈ ' + Math.round(sec / 60) + ' min';
  }

  function textColourFor(hex) {
    const m = /^#?([0-9a-f]{6})$/i.exec(hex || '');
    if (!m) return '#fff';
    const v = parseInt(m[1], 16);
    const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    const L = 0.2126 * lin(v >> 16) + 0.7152 * lin((v >> 8) & 255) + 0.0722 * lin(v & 255);
    return (L + 0.05) / 0.05 > 1.05 / (L + 0.05) ? '#000' : '#fff';
  }

  const KIND_LABELS = {
    session_started: 'Start', scene_entered: 'Scene', branch: 'Branch', paused: 'Pause', resumed: 'Resume',
    replayed: 'Replay', flagged: 'Flag', hit: 'Hit', input: 'Input', session_ended: 'End', interrupted: 'Interrupted',
    emergency_stop: 'E-STOP', calibration_check: 'Camera', threat_cue: 'Threat', shot: 'Shot',
    input_gesture: 'Input', restarted: 'Restart',
  };
  function eventDetail(ev) {
    const d = ev.data || {};
    switch (ev.kind) {
      case 'session_started': return 'Session started';
      case 'scene_entered': return 'Scene: ' + (d.title || ev.scene_id || '?');
      case 'branch': return 'Branch: ' + (d.label || d.choice || d.to || '?') + ' (' + (ev.actor || '?') + ')';
      case 'paused': return 'Paused';
      case 'resumed': return 'Resumed';
      case 'replayed': return 'Replayed scene';
      case 'flagged': return d.note ? 'Flag: ' + d.note : 'Flag';
      case 'hit': {
        const zones = (d.zones || []).map((z) => z.kind + ' zone ' + z.id).join(', ');
        return 'Hit at ' + num2(d.x) + ',' + num2(d.y) + ' – ' + (zones || 'no zone');
      }
      case 'input': return 'Input: ' + (d.input || d.name || d.pin || '?') + (d.pressed === false ? ' released' : '');
      case 'input_gesture': return 'Input ' + (d.name || '?') + ' ' + (d.gesture || '') + (d.action ? ' → ' + d.action : '');
      case 'shot': return 'Trigger pull (' + (d.input || 'shot sensor') + ')';
      case 'threat_cue': return 'Threat cue' + ((d.zones || []).length ? ': ' + d.zones.join(', ') : '');
      case 'emergency_stop': return 'EMERGENCY STOP (' + (d.input || '?') + ')';
      case 'restarted': return 'Restarted scenario';
      case 'calibration_check':
        return d.passed === true ? 'Camera self-check passed'
          : d.passed === false ? 'Camera self-check FAILED: ' + (d.message || '') : 'Camera self-check not run';
      case 'session_ended': return 'Session ended' + (d.outcome ? ': ' + d.outcome : '');
      case 'interrupted': return 'Interrupted' + (d.reason ? ': ' + d.reason : '');
      default: return (ev.kind || 'event') + ' ' + JSON.stringify(d);
    }
  }

  // -- toasts / announcements
  function toast(msg, kind = 'error') {
    const el = h('div', { class: 'toast toast-' + kind, testid: 'toast', dataset: { kind } },
      h('span', {}, msg), h('button', { type: 'button', class: 'toast-x', 'aria-label': 'Dismiss' }, '×'));
    const close = () => el.remove();
    el.addEventListener('click', close);
    $('toasts').prepend(el);
    while ($('toasts').children.length > 4) $('toasts').lastElementChild.remove();
    setTimeout(close, kind === 'error' ? 7000 : 4000);
  }
  let announceTimer = 0;
  function announce(msg) {
    const el = $('announcer');
    el.textContent = '';
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => { el.textContent = msg; }, 50);
  }

  // -- HTTP
  class ApiError extends Error {
    constructor(status, message, body) { super(message); this.status = status; this.body = body; this.handled = false; }
  }
  function detailOf(body, res) {
    const d = body && body.detail;
    if (typeof d === 'string' && d) return d;
    if (Array.isArray(d) && d.length) return (d[0] && d[0].msg) || String(d[0]);
    return 'Request failed (HTTP ' + res.status + ')';
  }
  /** fetch() with the bearer token; throws ApiError. A 401 (when auth=true) expires the pairing. */
  async function api(method, path, body, { auth = true, timeoutMs = 10000 } = {}) {
    const headers = { 'Content-Type': 'application/json' };
    if (auth && S.token) headers.Authorization = 'Bearer ' + S.token;
    if (auth && S.csrf && method !== 'GET') headers['X-CSRF-Token'] = S.csrf;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    let res, text;
    try {
      res = await fetch(path, {
        method, headers, cache: 'no-store', credentials: 'same-origin', signal: ctl.signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      text = await res.text();
    } catch (e) {
      throw new ApiError(0, e && e.name === 'AbortError' ? 'The box did not answer in time' : "Can't reach the box");
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch { data = null; } }
    if (!res.ok) {
      const err = new ApiError(res.status, detailOf(data, res), data);
      const ra = Number((data && data.retry_after_s) || res.headers.get('Retry-After'));
      if (ra > 0) err.retryAfter = ra;
      if (res.status === 401 && auth) { err.handled = true; expirePairing(); }
      throw err;
    }
    return data;
  }
  const reportError = (e) => { if (!e.handled) toast(e.message); };

  // -- views
  function showView(name) {
    const prev = S.view;
    S.view = name;
    document.body.dataset.view = name;
    for (const v of ['loading', 'pair', 'library', 'setup', 'live']) $('view-' + v).hidden = v !== name;
    $('menu-button').hidden = !S.token;
    closeMenu();
    if (name !== 'live') closeEndDialog();
    if (prev !== name) {
      window.scrollTo(0, 0);
      const heading = { loading: 'loading-heading', pair: 'pair-heading', library: 'library-heading', setup: 'setup-heading', live: 'live-heading' }[name];
      const el = $(heading);
      if (el && !(document.activeElement && /INPUT|TEXTAREA/.test(document.activeElement.tagName))) el.focus({ preventScroll: true });
    }
  }

  function expirePairing(msg = EXPIRED_MSG) {
    S.token = ''; S.csrf = '';
    store.set(K_TOKEN, ''); store.set(K_CSRF, ''); store.set(K_ROLE, '');
    disconnectWS();
    S.live = null; S.state = null;
    renderHardware(null);
    resetPin();
    setPairMsg(msg, false);
    showView('pair');
  }

  // -- connection header + WebSocket
  const CONN_LABELS = { connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline', idle: 'Not paired' };
  function setConn(state) {
    const el = $('conn');
    if (el.dataset.state === state) return;
    el.dataset.state = state;
    el.querySelector('.conn-label').textContent = CONN_LABELS[state];
  }

  const WS = { sock: null, retryMs: 500, timer: 0, lostAt: 0 };
  function connectWS() {
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
      onMessage(m);
    };
    sock.onerror = () => { /* onclose follows */ };
    sock.onclose = (ev) => {
      if (WS.sock !== sock) return;
      WS.sock = null;
      if (ev.code === 4401 || ev.code === 4403 || ev.code === 1008) { expirePairing(); return; }
      // A refused handshake hides its HTTP status from scripts: ask over HTTP (a 401 unpairs; a
      // good answer keeps the view current while the socket is down).
      if (!opened) api('GET', '/api/state').then((st) => applyState(st, true)).catch(() => {});
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
  function disconnectWS() {
    clearTimeout(WS.timer);
    if (WS.sock) { WS.sock.onclose = null; try { WS.sock.close(1000); } catch { /* ignore */ } }
    WS.sock = null; WS.retryMs = 500; WS.lostAt = 0;
    setConn('idle');
  }
  function nudgeWS() {
    if (S.token && !WS.sock) { WS.retryMs = 500; connectWS(); }
  }

  function onMessage(m) {
    if (!m || typeof m !== 'object') return;
    if (m.type === 'snapshot' || m.type === 'state') applyState(m.state, m.type === 'snapshot');
    else if (m.type === 'event' && m.event) {
      addEvents([m.event]);
      const ev = m.event;
      if (S.live && ev.session_id === S.live.id) {
        if (ev.kind === 'session_ended' && !S.live.ended) {
          S.live.outcome = (ev.data && ev.data.outcome) || S.live.outcome;
          markEnded();
        }
        renderTimeline();
      }
    }
  }

  // -- state
  function sessionEvents(id) {
    let m = S.events.get(id);
    if (!m) { m = new Map(); S.events.set(id, m); }
    return m;
  }
  function addEvents(list, fallbackSession) {
    for (const ev of list || []) {
      if (!ev || typeof ev.seq !== 'number') continue;
      const sid = ev.session_id || fallbackSession;
      if (sid) sessionEvents(sid).set(ev.seq, ev);
    }
  }

  function applyState(st, isSnapshot) {
    if (!st || typeof st !== 'object') return;
    S.state = st;
    renderHardware(st.hardware);
    const sess = st.session;
    if (sess && sess.id) addEvents(st.events, sess.id);
    S.sceneBase = { t: Number(st.scene_time_s) || 0, at: performance.now() };
    if (S.live && sess && sess.id === S.live.id) {
      if (S.live.scene && st.scene && S.live.scene.id !== st.scene.id) announce('Scene: ' + st.scene.title);
      S.live.session = sess; S.live.scene = st.scene || S.live.scene; S.live.confirmed = true;
      if (sess.outcome) S.live.outcome = sess.outcome;
    }
    syncView(isSnapshot);
    if (S.view === 'live') renderLive();
  }

  const isActive = (sess) => !!sess && (sess.status === 'running' || sess.status === 'paused');

  /** Decide the view from the latest STATE. */
  function syncView() {
    if (S.view === 'pair' || !S.state) return;
    const sess = S.state.session;
    if (isActive(sess)) {
      if (S.view !== 'live' || !S.live || (S.live.id !== sess.id && !S.live.ended)) goLive(sess, true);
      return;
    }
    if (S.view === 'loading') { goLibrary(); return; }
    if (S.view === 'live' && S.live && !S.live.ended) {
      // Our session is over (status ended, or gone). Ignore "no session" until the box has confirmed
      // ours at least once: a state from before our POST may still be in flight.
      if (S.live.confirmed || (sess && sess.id === S.live.id)) markEnded();
    }
  }

  // -- hardware banner
  function renderHardware(hw) {
    const warnings = (hw && Array.isArray(hw.warnings)) ? hw.warnings : [];
    const list = $('hw-list');
    const key = JSON.stringify(warnings);
    if (list.dataset.key !== key) {
      list.dataset.key = key;
      list.replaceChildren(...warnings.map((w) => h('li', {}, String(w))));
    }
    $('hw-warnings').hidden = warnings.length === 0;
    $('hw-mode').hidden = !(hw && hw.mode === 'sim');
  }

  // -- device strip: emergency stop, outputs switched on, camera (polled from /api/health)
  function renderDevices(devices) {
    const strip = $('devices');
    if (!devices) { strip.hidden = true; return; }
    const inputs = devices.inputs || {};
    const estop = Object.entries(inputs).some(([name, on]) => on && /estop|emergency/.test(name));
    const outputs = (devices.outputs || []).filter((o) => o.on && o.name !== 'status_led').map((o) => o.name.replace(/_/g, ' '));
    const cam = devices.camera;
    const kids = [];
    if (estop) kids.push(h('strong', { class: 'estop', testid: 'estop-banner' }, 'EMERGENCY STOP ENGAGED'));
    for (const name of outputs) kids.push(h('span', { class: 'chip on', testid: 'output-on' }, name + ' ON'));
    if (cam && !cam.calibrated) kids.push(h('span', { class: 'chip warn' }, 'camera not calibrated'));
    strip.replaceChildren(...kids);
    strip.hidden = kids.length === 0;
    strip.classList.toggle('alarm', estop);
  }
  async function pollDevices() {
    if (S.token && !document.hidden) {
      try {
        const health = await api('GET', '/api/health', undefined, { auth: false, timeoutMs: 3000 });
        renderDevices(health && health.devices);
      } catch { /* offline: the connection dot already says so */ }
    }
    setTimeout(pollDevices, 1500);
  }

  // -- pair
  function resetPin() { S.pin = ''; renderPin(); }
  function renderPin() {
    const d = $('pin-display');
    const slots = Math.max(6, S.pin.length);
    d.replaceChildren(...Array.from({ length: slots }, (_, i) => h('span', { class: i < S.pin.length ? 'pin-dot on' : 'pin-dot' })));
    d.dataset.length = S.pin.length;
    d.setAttribute('aria-label', S.pin.length ? S.pin.length + ' digits entered' : 'No digits entered');
    const locked = Date.now() < S.pairLockUntil;
    $('pair-button').disabled = locked || S.pairing || S.pin.length < PIN_MIN;
    for (const b of $('pinpad').querySelectorAll('.key:not(.key-go)')) b.disabled = locked || S.pairing;
  }
  function setPairMsg(msg, isError = true) {
    const el = $('pair-msg');
    el.textContent = msg || '';
    el.classList.toggle('is-error', !!isError);
  }
  function pinKey(k) {
    if (Date.now() < S.pairLockUntil || S.pairing) return;
    if (k === 'back') S.pin = S.pin.slice(0, -1);
    else if (k === 'clear') S.pin = '';
    else if (/^[0-9]$/.test(k) && S.pin.length < PIN_MAX) S.pin += k;
    renderPin();
  }
  let lockTimer = 0;
  function lockPairing(seconds) {
    S.pairLockUntil = Date.now() + seconds * 1000;
    clearInterval(lockTimer);
    const tick = () => {
      const left = Math.ceil((S.pairLockUntil - Date.now()) / 1000);
      if (left <= 0) { clearInterval(lockTimer); S.pairLockUntil = 0; setPairMsg(''); renderPin(); return; }
      setPairMsg('Too many attempts, try again in ' + left + ' s');
    };
    tick();
    lockTimer = setInterval(tick, 1000);
    renderPin();
  }
  function shake() {
    const d = $('pin-display');
    d.classList.remove('shake');
    void d.offsetWidth; // restart the animation
    d.classList.add('shake');
  }
  async function pair() {
    if (S.pin.length < PIN_MIN || S.pairing || Date.now() < S.pairLockUntil) return;
    S.pairing = true; renderPin();
    setPairMsg('Pairing…', false);
    try {
      const r = await api('POST', '/api/auth/pair', { pin: S.pin }, { auth: false });
      S.token = r.token; S.csrf = r.csrf_token || '';
      store.set(K_TOKEN, S.token); store.set(K_CSRF, S.csrf); store.set(K_ROLE, r.role || '');
      S.pin = ''; setPairMsg('', false);
      start();
    } catch (e) {
      S.pin = '';
      if (e.status === 429) lockPairing(e.retryAfter || 30);
      else { setPairMsg(e.status === 401 ? (e.message || 'Wrong PIN') : e.message); shake(); }
    } finally {
      S.pairing = false; renderPin();
    }
  }

  // -- start-up
  async function start() {
    S.live = null;
    showView('loading');
    $('loading-msg').textContent = '';
    $('loading-retry').hidden = true;
    connectWS();
    try {
      applyState(await api('GET', '/api/state'), true);
    } catch (e) {
      if (e.handled) return;
      if (S.view === 'loading') {
        // The socket's snapshot will move us on if it gets through first.
        $('loading-msg').textContent = e.message;
        $('loading-retry').hidden = false;
      }
    }
  }

  // -- library
  function goLibrary() {
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
      renderCards();
    } catch (e) {
      if (e.handled) return;
      msg.textContent = "Couldn't load the scenarios: " + e.message;
      $('library-retry').hidden = false;
    }
  }
  function matches(sc, q) {
    if (!q) return true;
    const hay = [sc.title, sc.summary, ...(sc.audience || []), ...(sc.audience || []).map(audienceLabel)].join(' ').toLowerCase();
    return q.split(/\s+/).every((w) => hay.includes(w));
  }
  function renderCards() {
    const list = S.scenarios || [];
    const q = $('search').value.trim().toLowerCase();
    const shown = list.filter((sc) => matches(sc, q));
    $('library-msg').textContent = !list.length ? 'No scenarios installed on this box yet.'
      : !shown.length ? 'No scenario matches "' + $('search').value.trim() + '".' : '';
    $('cards').replaceChildren(...shown.map(card));
  }
  function card(sc) {
    const objectives = sc.objectives || [];
    const meta = [minutes(sc.duration_s), sc.scene_count ? sc.scene_count + (sc.scene_count === 1 ? ' scene' : ' scenes') : '']
      .filter(Boolean).join(' · ');
    const el = h('article', { class: 'card', testid: 'scenario-card', dataset: { scenarioId: sc.id } },
      h('h2', { class: 'card-title' },
        h('button', { type: 'button', class: 'card-open', 'aria-label': 'Set up ' + sc.title }, sc.title)),
      h('ul', { class: 'chips chips-static', 'aria-label': 'Audience' },
        (sc.audience || []).map((a) => h('li', { class: 'chip' }, audienceLabel(a)))),
      meta && h('p', { class: 'card-meta' }, meta),
      sc.summary && h('p', { class: 'card-summary' }, sc.summary),
      objectives.length > 0 && h('details', { class: 'objectives' },
        h('summary', {}, 'Learning objectives (' + objectives.length + ')'),
        h('ul', {}, objectives.map((o) => h('li', {}, o)))),
      h('span', { class: 'card-go', 'aria-hidden': 'true' }, 'Set up ›'));
    el.addEventListener('click', (e) => {
      if (e.target.closest('details')) return; // the objectives toggle is its own tap target
      goSetup(sc);
    });
    return el;
  }

  // -- setup
  function goSetup(sc) {
    S.setup = { scenario: sc, trainees: [] };
    $('setup-heading').textContent = sc.title;
    $('setup-meta').textContent = [minutes(sc.duration_s), (sc.audience || []).map(audienceLabel).join(', ')].filter(Boolean).join(' · ');
    $('trainee-input').value = '';
    $('instructor-input').value = store.get(K_INSTRUCTOR);
    setSetupError('');
    renderTrainees();
    showView('setup');
  }
  function renderTrainees() {
    const t = S.setup ? S.setup.trainees : [];
    $('trainee-chips').replaceChildren(...t.map((name, i) => h('li', { class: 'chip chip-x', testid: 'trainee-chip', dataset: { name } },
      h('span', {}, name),
      h('button', {
        type: 'button', class: 'chip-remove', testid: 'trainee-remove', 'aria-label': 'Remove ' + name,
        onclick: () => { t.splice(i, 1); renderTrainees(); },
      }, '×'))));
  }
  function addTrainee() {
    const inp = $('trainee-input');
    const name = inp.value.trim().replace(/\s+/g, ' ');
    if (!name || !S.setup) return false;
    if (!S.setup.trainees.some((n) => n.toLowerCase() === name.toLowerCase())) S.setup.trainees.push(name);
    inp.value = '';
    setSetupError('');
    renderTrainees();
    return true;
  }
  function setSetupError(msg, offerRunning = false) {
    $('setup-error').hidden = !msg;
    $('setup-error-text').textContent = msg || '';
    $('goto-running').hidden = !offerRunning;
  }
  async function startSession(e) {
    e.preventDefault();
    if (!S.setup || S.busy) return;
    addTrainee(); // a name typed but not yet added counts
    if (!S.setup.trainees.length) {
      setSetupError('Add at least one trainee.');
      $('trainee-input').focus();
      return;
    }
    const instructor = $('instructor-input').value.trim();
    store.set(K_INSTRUCTOR, instructor);
    const body = { scenario_id: S.setup.scenario.id, trainees: S.setup.trainees.slice() };
    if (instructor) body.instructor = instructor;
    const btn = $('start-session');
    btn.disabled = true; S.busy = true;
    try {
      const sess = await api('POST', '/api/sessions', body);
      goLive(Object.assign({ scenario_title: S.setup.scenario.title, status: 'running' }, sess), false);
    } catch (err) {
      if (err.handled) return;
      if (err.status === 409) setSetupError(err.message, true);
      else setSetupError(err.message);
    } finally {
      btn.disabled = false; S.busy = false;
    }
  }
  async function gotoRunning() {
    try {
      const st = await api('GET', '/api/state');
      if (!isActive(st && st.session)) { toast('No session is running any more.', 'info'); setSetupError(''); }
      applyState(st, true);
    } catch (e) { reportError(e); }
  }

  // -- live
  function goLive(sess, confirmed) {
    const st = S.state;
    const known = !!(st && st.session && st.session.id === sess.id);
    if (S.view === 'live' && S.live && S.live.id === sess.id) return; // the socket got here first
    confirmed = confirmed || known;
    const scene = known ? st.scene : null;
    S.live = { id: sess.id, session: sess, scene, ended: false, confirmed, outcome: sess.outcome || null };
    S.busy = false;
    $('flag-form').hidden = true;
    $('branches').dataset.key = '';
    $('timeline').replaceChildren();
    $('timeline').dataset.top = '-1';
    if (!confirmed) S.sceneBase = { t: 0, at: performance.now() };
    showView('live');
    renderLive();
    announce('Session running: ' + (sess.scenario_title || ''));
  }

  function markEnded() {
    if (!S.live || S.live.ended) return;
    S.live.ended = true;
    S.live.session = Object.assign({}, S.live.session, { status: 'ended' });
    const st = S.state;
    if (st && st.session && st.session.id === S.live.id && isActive(st.session)) {
      S.state = Object.assign({}, st, { session: Object.assign({}, st.session, { status: 'ended' }) });
    }
    $('flag-form').hidden = true;
    closeEndDialog();
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

  function renderLive() {
    const L = S.live;
    if (!L) return;
    const sess = L.session;
    $('live-heading').textContent = sess.scenario_title || sess.scenario_id || 'Session';
    const tr = (sess.trainees || []).join(', ');
    $('live-trainees').textContent = (tr ? 'Trainees: ' + tr : '') + (sess.instructor ? ' · Instructor: ' + sess.instructor : '');

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
    const paused = status === 'paused';
    $('pause-button').hidden = paused;
    $('resume-button').hidden = !paused;
    $('live-controls').hidden = L.ended;
    $('summary').hidden = !L.ended;
    if (L.ended) renderSummary();
    setBusy(S.busy);
    renderTimeline();
    tick();
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
        onclick: (e) => branch(c, e.currentTarget),
      }, h('span', { class: 'branch-label' }, c.label),
      c.hotkey && h('kbd', { class: 'hotkey', 'aria-hidden': 'true' }, c.hotkey.toUpperCase()));
    }));
  }

  function setBusy(busy) {
    S.busy = busy;
    const off = busy || !S.live || S.live.ended;
    for (const b of document.querySelectorAll('#live-controls button')) {
      b.disabled = off && b.id !== 'flag-cancel';
    }
    $('flag-note').disabled = off;
  }

  async function post(action, body, sourceBtn) {
    if (!S.live || S.busy || S.live.ended) return false;
    const id = S.live.id;
    setBusy(true);
    if (sourceBtn) sourceBtn.classList.add('sending');
    try {
      const r = await api('POST', '/api/sessions/' + encodeURIComponent(id) + '/' + action, body || {});
      absorb(r, id);
      return true;
    } catch (e) {
      reportError(e);
      return false;
    } finally {
      if (sourceBtn) sourceBtn.classList.remove('sending');
      if (S.live) setBusy(false);
    }
  }
  /** Responses to control calls: a STATE or a session object, used only if the socket lags. */
  function absorb(r, id) {
    if (!r || typeof r !== 'object' || !S.live || S.live.id !== id) return;
    if ('session' in r && 'scene' in r) { applyState(r, false); return; }
    if (r.id === id && typeof r.status === 'string') {
      S.live.session = Object.assign({}, S.live.session, r);
      if (r.status === 'ended') { S.live.outcome = r.outcome || S.live.outcome; markEnded(); } else renderLive();
    }
  }

  function branch(choice, btn) { post('branch', { choice: choice.id }, btn); }

  function toggleFlag(open) {
    const form = $('flag-form');
    open = open === undefined ? form.hidden : open;
    form.hidden = !open;
    $('flag-button').setAttribute('aria-expanded', String(open));
    if (open) { $('flag-note').value = ''; $('flag-note').focus(); }
  }
  async function saveFlag(e) {
    e.preventDefault();
    const note = $('flag-note').value.trim();
    if (await post('flag', { note }, $('flag-save'))) {
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
  function closeEndDialog() {
    $('main').inert = false;
    if ($('end-modal').hidden) return;
    $('end-modal').hidden = true;
    if (S.view === 'live' && !$('end-button').hidden) $('end-button').focus({ preventScroll: true });
  }
  async function confirmEnd() {
    const btn = $('end-confirm');
    btn.disabled = true;
    $('end-modal').hidden = true;
    $('main').inert = false;
    await post('end', {}, $('end-button'));
    btn.disabled = false;
  }

  // timeline: newest first; appended incrementally when events arrive in order
  function renderTimeline() {
    if (!S.live) return;
    const list = $('timeline');
    const evs = [...sessionEvents(S.live.id).values()].sort((a, b) => a.seq - b.seq);
    const top = Number(list.dataset.top);
    const fresh = evs.filter((e) => e.seq > top);
    const item = (ev) => h('li', { class: 'tl-item', testid: 'timeline-item', dataset: { seq: ev.seq, kind: ev.kind } },
      h('span', { class: 'tl-time' }, clock(ev.t_session_s)),
      h('span', { class: 'tl-kind' }, KIND_LABELS[ev.kind] || ev.kind),
      h('span', { class: 'tl-detail' }, eventDetail(ev)),
      h('span', { class: 'tl-actor' }, ev.actor || ''));
    if (list.children.length + fresh.length !== evs.length) {
      list.replaceChildren(...evs.slice().reverse().map(item)); // out-of-order arrival: rebuild
    } else {
      for (const ev of fresh) list.prepend(item(ev));
    }
    list.dataset.top = evs.length ? evs[evs.length - 1].seq : -1;
  }

  function renderSummary() {
    const L = S.live;
    const evs = [...sessionEvents(L.id).values()].sort((a, b) => a.seq - b.seq);
    const endEv = evs.find((e) => e.kind === 'session_ended');
    const outcome = L.outcome || (endEv && endEv.data && endEv.data.outcome) || L.session.outcome;
    $('sum-outcome').textContent = outcome || 'No outcome (ended by the instructor)';
    const dur = endEv ? endEv.t_session_s : evs.reduce((m, e) => Math.max(m, Number(e.t_session_s) || 0), 0);
    $('sum-duration').textContent = clock(dur);
    const path = [];
    let last = null;
    for (const e of evs) {
      if (e.kind !== 'scene_entered') continue;
      const id = e.scene_id || (e.data && e.data.title);
      if (id === last) continue;
      last = id;
      path.push((e.data && e.data.title) || e.scene_id);
    }
    $('sum-path').textContent = path.length ? path.join(' → ') : '—';
    $('sum-hits').textContent = String(evs.filter((e) => e.kind === 'hit').length);
    const flags = evs.filter((e) => e.kind === 'flagged');
    $('sum-flags').replaceChildren(...(flags.length ? flags.map((f) => h('li', {},
      clock(f.t_session_s) + ' – ' + ((f.data && f.data.note) || '(no note)'))) : [h('li', { class: 'muted' }, 'None')]));
  }

  function tick() {
    if (S.view !== 'live' || !S.live) return;
    const running = !S.live.ended && S.live.session.status === 'running' && S.live.scene;
    const t = S.sceneBase.t + (running ? (performance.now() - S.sceneBase.at) / 1000 : 0);
    const el = $('scene-time');
    const txt = clock(t);
    if (el.textContent !== txt) el.textContent = txt;
  }

  // -- menu
  function closeMenu() {
    $('menu').hidden = true;
    $('menu-button').setAttribute('aria-expanded', 'false');
  }

  // -- keyboard
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (!$('end-modal').hidden) {
      if (e.key === 'Escape') { e.preventDefault(); closeEndDialog(); }
      return;
    }
    if (e.key === 'Escape' && !$('menu').hidden) { closeMenu(); return; }
    const typing = e.target instanceof HTMLElement && (/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) || e.target.isContentEditable);
    if (S.view === 'pair') {
      if (/^[0-9]$/.test(e.key)) { e.preventDefault(); pinKey(e.key); }
      else if (e.key === 'Backspace') { e.preventDefault(); pinKey('back'); }
      else if (e.key === 'Escape') pinKey('clear');
      else if (e.key === 'Enter') { e.preventDefault(); pair(); } // never re-press a focused digit
      return;
    }
    if (S.view === 'live') {
      if (typing) {
        if (e.key === 'Escape' && e.target.id === 'flag-note') toggleFlag(false);
        return;
      }
      if (e.repeat || !S.live || S.live.ended || S.busy) return;
      const k = e.key.toLowerCase();
      const btn = [...$('branches').querySelectorAll('.branch')].find((b) => b.dataset.hotkey && b.dataset.hotkey === k);
      if (btn) { e.preventDefault(); btn.click(); }
    }
  }

  // -- wiring
  function init() {
    pollDevices();
    const pad = $('pinpad');
    for (const d of '1234567890') {
      const key = h('button', { type: 'button', class: 'key', testid: 'pin-input-digit-' + d, dataset: { digit: d } }, d);
      pad.insertBefore(key, d === '0' ? $('pair-button') : $('pin-back'));
    }
    $('pinpad').addEventListener('click', (e) => {
      const b = e.target.closest('button');
      if (!b) return;
      if (b.dataset.digit) pinKey(b.dataset.digit);
      else if (b.id === 'pin-back') pinKey('back');
      else if (b.id === 'pair-button') pair();
    });
    $('pin-display').addEventListener('animationend', () => $('pin-display').classList.remove('shake'));
    $('loading-retry').addEventListener('click', start);
    $('search').addEventListener('input', renderCards);
    $('library-retry').addEventListener('click', loadScenarios);
    $('setup-back').addEventListener('click', goLibrary);
    $('trainee-add').addEventListener('click', () => { addTrainee(); $('trainee-input').focus(); });
    $('trainee-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); addTrainee(); }
    });
    $('setup-form').addEventListener('submit', startSession);
    $('goto-running').addEventListener('click', gotoRunning);
    $('pause-button').addEventListener('click', (e) => post('pause', {}, e.currentTarget));
    $('resume-button').addEventListener('click', (e) => post('resume', {}, e.currentTarget));
    $('replay-button').addEventListener('click', (e) => post('replay', {}, e.currentTarget));
    $('flag-button').addEventListener('click', () => toggleFlag());
    $('flag-cancel').addEventListener('click', () => toggleFlag(false));
    $('flag-form').addEventListener('submit', saveFlag);
    $('end-button').addEventListener('click', openEndDialog);
    $('end-cancel').addEventListener('click', closeEndDialog);
    $('end-confirm').addEventListener('click', confirmEnd);
    $('end-modal').addEventListener('click', (e) => { if (e.target === e.currentTarget) closeEndDialog(); });
    $('back-to-library').addEventListener('click', () => {
      goLibrary();
      syncView(); // another session may already be running
    });
    $('menu-button').addEventListener('click', (e) => {
      e.stopPropagation();
      const open = $('menu').hidden;
      $('menu').hidden = !open;
      $('menu-button').setAttribute('aria-expanded', String(open));
    });
    document.addEventListener('click', (e) => { if (!e.target.closest('.menu')) closeMenu(); });
    $('unpair-button').addEventListener('click', () => {
      const token = S.token;
      expirePairing('Unpaired. Enter the PIN to pair again.');
      // Revoke the token on the box too (it also clears the cookie); the tablet is unpaired either way.
      if (token) {
        fetch('/api/auth/unpair', { method: 'POST', headers: { Authorization: 'Bearer ' + token }, cache: 'no-store', credentials: 'same-origin' })
          .catch(() => { /* offline: the token expires on its own */ });
      }
    });
    document.addEventListener('keydown', onKey);
    window.addEventListener('online', nudgeWS);
    window.addEventListener('offline', () => { if (S.token && !WS.sock) setConn('offline'); });
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') nudgeWS(); });
    setInterval(() => {
      tick();
      // Amber for the first 10 s without the socket, red after that (retries go on every 5 s).
      if (S.token && WS.lostAt && Date.now() - WS.lostAt > 10000) setConn('offline');
    }, 250);

    renderPin();
    if (S.token) start();
    else { showView('pair'); setConn('idle'); }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
