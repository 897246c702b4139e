/* Scenario packages on the admin page (web_ui/routers/scenario_admin.py): install a package .zip
 * with an upload progress bar (the box checks it completely, media decoded, before it joins the
 * library; every problem is listed when it is refused), replace one with the same id after asking,
 * and remove one. The section hides itself when the box has no such endpoint (404).
 * testids: packages-panel, packages-list, package-row (data-id), package-remove, package-file,
 * package-upload, package-progress, package-problems. */
import { $, h, toast, confirmDialog } from '../dom.js';
import { api, upload, enc, reportError } from '../api.js';

export function initLibraryAdmin() {
  $('package-form').addEventListener('submit', (e) => { e.preventDefault(); send(false); });
}

export async function loadLibraryAdmin() {
  try {
    const cards = (await api('GET', '/api/scenarios')) || [];
    $('packages-panel').hidden = false;
    $('packages-list').replaceChildren(...cards.map((c) => h('li', { class: 'token-row', testid: 'package-row', dataset: { id: c.id } },
      h('div', { class: 'token-info' }, h('b', {}, c.title), h('span', { class: 'muted' }, c.id + ' · version ' + c.version)),
      h('button', { type: 'button', class: 'btn btn-danger', testid: 'package-remove', onclick: () => remove(c) }, 'Remove'))));
  } catch (e) { reportError(e); }
}

function showProblems(list) {
  const box = $('package-problems');
  box.hidden = !list.length;
  box.replaceChildren(h('p', {}, 'The package was not installed:'), h('ul', {}, ...list.map((p) => h('li', {}, p))));
}

async function send(replace) {
  const file = $('package-file').files[0];
  if (!file) { toast('Choose a scenario package (.zip) first.'); return; }
  const bar = $('package-progress');
  const btn = $('package-upload');
  bar.hidden = false; bar.value = 0; btn.disabled = true; showProblems([]);
  try {
    const r = await upload('POST', '/api/admin/scenarios' + (replace ? '?replace=true' : ''), file, (f) => { bar.value = f; });
    toast((r.replaced ? 'Replaced: ' : 'Installed: ') + r.title + (r.note ? ' (' + r.note + ')' : ''), 'info');
    $('package-file').value = '';
    loadLibraryAdmin();
  } catch (e) {
    if (e.status === 409 && !replace && await confirmDialog('Replace the installed scenario?', e.message, 'Replace')) {
      btn.disabled = false;
      send(true);
      return;
    }
    const problems = e.body && Array.isArray(e.body.problems) ? e.body.problems : [];
    if (problems.length) showProblems(problems); else reportError(e);
  } finally {
    btn.disabled = false;
    setTimeout(() => { bar.hidden = true; }, 1000);
  }
}

async function remove(card) {
  if (!await confirmDialog('Remove ' + card.title + '?', 'Its training records stay. You can install the package again later.', 'Remove')) return;
  try {
    await api('DELETE', '/api/admin/scenarios/' + enc(card.id));
    toast('Removed ' + card.title, 'info');
    loadLibraryAdmin();
  } catch (e) { reportError(e); }
}
