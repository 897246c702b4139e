/* The page's shared state and its remembered settings (localStorage). */

export const K_TOKEN = 'openrange.token', K_CSRF = 'openrange.csrf', K_ROLE = 'openrange.role',
  K_INSTRUCTOR = 'openrange.instructor', K_SAFETY = 'openrange.safety';

/** localStorage that shrugs off private mode. */
export const store = {
  get: (k) => { try { return localStorage.getItem(k) || ''; } catch { return ''; } },
  set: (k, v) => { try { if (v) localStorage.setItem(k, v); else localStorage.removeItem(k); } catch { /* private mode */ } },
};

/** Everything the views share. */
export const S = {
  token: store.get(K_TOKEN), csrf: store.get(K_CSRF), role: store.get(K_ROLE),
  view: 'loading',
  state: null, // the latest STATE (snapshot or state message)
  scenarios: null,
  live: null, // {id, session, scene, ended, confirmed, outcome}
  events: new Map(), // session id -> Map(seq -> EVENT)
  sceneBase: { t: 0, at: 0 },
  busy: false,
};

export const isAdmin = () => S.role === 'admin';
export const isActive = (sess) => !!sess && (sess.status === 'running' || sess.status === 'paused');

/** The Map(seq -> EVENT) of one session. */
export function sessionEvents(id) {
  let m = S.events.get(id);
  if (!m) { m = new Map(); S.events.set(id, m); }
  return m;
}

/** Remember events (de-duplicated by seq). */
export function addEvents(list, fallbackSession) {
  for (const ev of list || []) {
    if (!ev || typeof ev.seq !== 'number') continue;
    const sid = ev.session_id || fallbackSession;
    if (sid) sessionEvents(sid).set(ev.seq, ev);
  }
}

/** A session's events in seq order. */
export const sortedEvents = (id) => [...sessionEvents(id).values()].sort((a, b) => a.seq - b.seq);

/** Save (or forget, with null) the pairing. */
export function savePairing(grant) {
  S.token = grant ? grant.token : '';
  S.csrf = grant ? grant.csrf_token || '' : '';
  S.role = grant ? grant.role || 'instructor' : '';
  store.set(K_TOKEN, S.token); store.set(K_CSRF, S.csrf); store.set(K_ROLE, S.role);
}
