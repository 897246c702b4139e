/* The admin page (admin role only): paired tablets with revoke, rotate the pairing PIN, download the
 * logs, xAPI status and retry, and the software update (in updates.js). Each section hides itself when
 * the box answers 404 (an older box).
 * testids: view-admin, tokens-list, token-row (data-token-id, data-current), token-revoke,
 * rotate-pin, logs-download, xapi-panel, xapi-status, xapi-retry. */
import { $, h, confirmDialog, toast } from '../dom.js';
import { api, download, enc, reportError } from '../api.js';
import { dateTime } from '../format.js';
import { showView } from '../nav.js';
import { loadUpdates } from './updates.js';
import { loadLibraryAdmin } from './library_admin.js';
import { loadSettingsAdmin } from './settings_admin.js';

export function initAdmin() {
  $('rotate-pin').addEventListener('click', rotatePin);
  $('xapi-retry').addEventListener('click', retryXapi);
  $('logs-download').addEventListener('click', () => {
    download('/api/admin/logs', 'openrange-logs-' + new Date().toISOString().slice(0, 10) + '.txt').catch(reportError);
  });
}

export function goAdmin() {
  showView('admin');
  loadTokens();
  loadXapi();
  loadUpdates();
  loadLibraryAdmin();
  loadSettingsAdmin();
}

async function loadTokens() {
  const list = $('tokens-list');
  try {
    const tokens = (await api('GET', '/api/admin/tokens')) || [];
    $('tokens-panel').hidden = false;
    list.replaceChildren(...tokens.map((t) => h('li', {
      class: 'token-row' + (t.revoked ? ' revoked' : ''), testid: 'token-row',
      dataset: { tokenId: t.id, current: String(!!t.current), revoked: String(!!t.revoked) },
    },
    h('div', { class: 'token-info' },
      h('b', {}, (t.client || 'tablet') + (t.current ? ' (this tablet)' : '')),
      h('span', { class: 'muted' }, t.role + ' · paired ' + dateTime(t.paired_at) + ' · expires ' + dateTime(t.expires_at))),
    t.revoked ? h('span', { class: 'chip' }, 'revoked') : h('button', {
      type: 'button', class: 'btn btn-danger', testid: 'token-revoke',
      onclick: () => revoke(t),
    }, 'Revoke'))));
  } catch (e) {
    if (e.status === 404) $('tokens-panel').hidden = true;
    else reportError(e);
  }
}

async function revoke(t) {
  const text = t.current ? 'This is the tablet you are holding: it will be unpaired at once.'
    : 'That tablet is unpaired at once and needs the PIN again.';
  if (!await confirmDialog('Revoke ' + (t.client || 'this tablet') + '?', text, 'Revoke')) return;
  try {
    await api('DELETE', '/api/admin/tokens/' + enc(t.id));
    toast('Tablet revoked', 'info');
    loadTokens();
  } catch (e) { reportError(e); }
}

async function rotatePin() {
  if (!await confirmDialog('New pairing PIN?', 'The range screen shows the new PIN. Paired tablets stay paired.', 'Rotate PIN', false)) return;
  try {
    const r = await api('POST', '/api/admin/pairing-pin/rotate', {});
    toast((r && r.detail) || 'New pairing PIN on the range screen', 'info');
  } catch (e) {
    reportError(e);
  }
}

async function loadXapi() {
  try {
    const x = await api('GET', '/api/admin/xapi');
    $('xapi-panel').hidden = false;
    const rows = [
      ['Enabled', x.enabled ? 'yes' : 'no'], ['Endpoint', x.endpoint || '—'], ['Queued', String(x.queued ?? 0)],
      ['Sent', String(x.sent ?? 0)], ['Last error', x.last_error || '—'],
      ['Next retry', x.next_retry_at ? dateTime(x.next_retry_at) : '—'],
    ];
    $('xapi-status').replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { dataset: { key: k } }, v)]));
    $('xapi-retry').disabled = !x.enabled || !x.queued;
  } catch (e) {
    if (e.status === 404) $('xapi-panel').hidden = true;
    else reportError(e);
  }
}

async function retryXapi() {
  try {
    await api('POST', '/api/admin/xapi/retry', {});
    toast('Sending the queued statements now', 'info');
    setTimeout(loadXapi, 1500);
  } catch (e) { reportError(e); }
}
