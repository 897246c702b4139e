/* HTTP to the box: bearer token + CSRF header, timeouts, errors as ApiError with the server's sentence. */
import { S } from './state.js';
import { toast } from './dom.js';

/** A failed request: status 0 when the box could not be reached. */
export class ApiError extends Error {
  constructor(status, message, body) { super(message); this.status = status; this.body = body; this.handled = false; }
}

let onUnauthorized = () => {};
/** What to do when the box says the token is no good (401). */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function detailOf(body, res) {
  const d = body && body.detail;
  if (typeof d === 'string' && d) return d;
  if (Array.isArray(d) && d.length) return (d[0] && d[0].msg) || String(d[0]);
  return 'Request failed (HTTP ' + res.status + ')';
}

function headers(method, auth, json) {
  const hd = {};
  if (json) hd['Content-Type'] = 'application/json';
  if (auth && S.token) hd.Authorization = 'Bearer ' + S.token;
  if (auth && S.csrf && method !== 'GET') hd['X-CSRF-Token'] = S.csrf;
  return hd;
}

async function send(method, path, init, auth, timeoutMs) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    return await fetch(path, { method, cache: 'no-store', credentials: 'same-origin', signal: ctl.signal, ...init });
  } catch (e) {
    throw new ApiError(0, e && e.name === 'AbortError' ? 'The box did not answer in time' : "Can't reach the box");
  } finally {
    clearTimeout(timer);
  }
}

async function fail(res, auth) {
  let data = null;
  try { data = JSON.parse(await res.text()); } catch { data = null; }
  const err = new ApiError(res.status, detailOf(data, res), data);
  const ra = Number((data && data.retry_after_s) || res.headers.get('Retry-After'));
  if (ra > 0) err.retryAfter = ra;
  if (res.status === 401 && auth) { err.handled = true; onUnauthorized(); }
  return err;
}

/** JSON request; resolves to the parsed answer, throws ApiError. */
export async function api(method, path, body, { auth = true, timeoutMs = 10000 } = {}) {
  const res = await send(method, path, {
    headers: headers(method, auth, true), body: body === undefined ? undefined : JSON.stringify(body),
  }, auth, timeoutMs);
  if (!res.ok) throw await fail(res, auth);
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

/** GET a binary resource (an image) as a Blob; throws ApiError (404 when the box cannot make it). */
export async function getBlob(path, { timeoutMs = 10000 } = {}) {
  const res = await send('GET', path, { headers: headers('GET', true, false) }, true, timeoutMs);
  if (!res.ok) throw await fail(res, true);
  return res.blob();
}

/**
 * Send a file as the raw request body with upload progress (XMLHttpRequest: fetch has no upload
 * progress). onProgress(fraction 0..1); resolves to the JSON answer, throws ApiError.
 */
export function upload(method, path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    for (const [k, v] of Object.entries(headers(method, true, false))) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, "Can't reach the box"));
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) { resolve(data); return; }
      const err = new ApiError(xhr.status, (data && typeof data.detail === 'string' && data.detail) || 'Upload failed (HTTP ' + xhr.status + ')', data);
      if (xhr.status === 401) { err.handled = true; onUnauthorized(); }
      reject(err);
    };
    xhr.send(file);
  });
}

/** Show an error unless it was already dealt with (a 401 unpairs the tablet). */
export const reportError = (e) => { if (!e.handled) toast(e.message); };

/** encodeURIComponent, short. */
export const enc = encodeURIComponent;

/** Download an authenticated GET as a file (a 404's sentence becomes an ApiError, not a broken download). */
export async function download(path, filename) {
  const blob = await getBlob(path, { timeoutMs: 30000 });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
