/* Settings on the admin page (web_ui/routers/settings.py): the common ones as a form, the rest as
 * the overrides document; saved changes are checked by the box (every wrong field named, nothing
 * written) and apply at the next start. Secrets show only as "set".
 * testids: settings-panel, settings-form, settings-save, settings-overrides, settings-message. */
import { $, h, toast } from '../dom.js';
import { api, reportError } from '../api.js';

const FIELDS = [
  ['camera', 'display_latency_ms', 'Projector + camera latency (ms)', 'number'],
  ['web', 'token_ttl_h', 'Tablet pairing lasts (hours)', 'number'],
  ['xapi', 'enabled', 'Send xAPI statements', 'checkbox'],
  ['xapi', 'endpoint', 'LRS endpoint (https://…)', 'url'],
  ['xapi', 'username', 'LRS key', 'text'],
  ['xapi', 'password', 'LRS secret', 'password'],
  ['log_level', null, 'Log level', 'select'],
];
const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR'];

export function initSettingsAdmin() {
  $('settings-form').addEventListener('submit', save);
}

function value(tree, section, key) {
  return key === null ? tree[section] : (tree[section] || {})[key];
}

/** Show the settings; ``note`` replaces the usual line under the form (e.g. after a save). */
export async function loadSettingsAdmin(note = '') {
  try {
    const view = await api('GET', '/api/admin/settings');
    $('settings-panel').hidden = false;
    const inForce = view.in_force;
    $('settings-fields').replaceChildren(...FIELDS.map(([section, key, label, type]) => {
      const id = 'setting-' + section + (key ? '-' + key : '');
      const current = value(inForce, section, key);
      let input;
      if (type === 'select') {
        input = h('select', { id }, ...LEVELS.map((l) => h('option', { value: l, selected: l === current }, l)));
      } else if (type === 'checkbox') {
        input = h('input', { id, type, checked: !!current });
      } else {
        input = h('input', { id, type, value: current === null || current === undefined ? '' : String(current),
          placeholder: type === 'password' && current === 'set' ? 'set (unchanged)' : '' });
        if (type === 'password') input.value = '';
      }
      input.dataset.section = section; if (key) input.dataset.key = key;
      return h('label', { class: 'field-label' }, label, input);
    }));
    $('settings-overrides').value = JSON.stringify(view.overrides || {}, null, 2);
    $('settings-message').textContent = note || 'Changes apply ' + view.applies + '.';
  } catch (e) {
    if (e.status === 404) $('settings-panel').hidden = true; else reportError(e);
  }
}

function formChanges() {
  const changes = {};
  for (const input of $('settings-fields').querySelectorAll('input, select')) {
    const { section, key } = input.dataset;
    let v = input.type === 'checkbox' ? input.checked : input.value;
    if (input.type === 'number') v = v === '' ? null : Number(v);
    if (input.type === 'password' && v === '') continue; // unchanged secret
    if (key) { changes[section] = changes[section] || {}; changes[section][key] = v === '' ? null : v; } else changes[section] = v;
  }
  return changes;
}

async function save(e) {
  e.preventDefault();
  let extra = {};
  try { extra = JSON.parse($('settings-overrides').value || '{}'); } catch { toast('The overrides document is not valid JSON.'); return; }
  const changes = Object.assign({}, extra);
  for (const [k, v] of Object.entries(formChanges())) {
    changes[k] = v && typeof v === 'object' ? Object.assign({}, changes[k] || {}, v) : v;
  }
  try {
    const r = await api('PATCH', '/api/admin/settings', { changes });
    toast('Settings saved: they apply at the next start', 'info');
    loadSettingsAdmin('Saved. Changes apply ' + r.applies + '.');
  } catch (ex) {
    $('settings-message').textContent = ex.message;
    reportError(ex);
  }
}
