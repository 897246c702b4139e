/* Pairing with the PIN pad, and first-run setup of the admin PIN ("Set up this range").
 * testids: pin-input-digit-0..9, pin-backspace, pin-display (data-length), pair-button, pair-error,
 * firstrun-offer, firstrun-form, firstrun-pairing-pin, firstrun-admin-pin, firstrun-admin-pin2,
 * firstrun-save, firstrun-error, firstrun-cancel. */
import { S, savePairing } from '../state.js';
import { $, h } from '../dom.js';
import { api } from '../api.js';
import { showView } from '../nav.js';

const PIN_MIN = 4, PIN_MAX = 12;
const P = { pin: '', lockUntil: 0, busy: false, onPaired: () => {} };

/** Wire the pad; onPaired() runs after a successful pairing or first-run setup. */
export function initPair(onPaired) {
  P.onPaired = onPaired;
  const pad = $('pinpad');
  for (const d of '1234567890') {
    const key = h('button', { type: 'button', class: 'key', testid: 'pin-input-digit-' + d, dataset: { digit: d } }, d);
    pad.insertBefore(key, d === '0' ? $('pair-button') : $('pin-back'));
  }
  pad.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.dataset.digit) pinKey(b.dataset.digit);
    else if (b.id === 'pin-back') pinKey('back');
    else if (b.id === 'pair-button') pair();
  });
  $('pin-display').addEventListener('animationend', () => $('pin-display').classList.remove('shake'));
  $('firstrun-offer').addEventListener('click', () => showFirstRun(true));
  $('firstrun-cancel').addEventListener('click', () => showFirstRun(false));
  $('firstrun-form').addEventListener('submit', firstRun);
  renderPin();
}

/** Show the pair view with an optional message; asks the box whether it still needs its admin PIN. */
export function goPair(msg = '', isError = false) {
  resetPin();
  setPairMsg(msg, isError);
  showFirstRun(false);
  showView('pair');
  $('firstrun-offer').hidden = true;
  api('GET', '/api/setup', undefined, { auth: false, timeoutMs: 4000 })
    .then((r) => { $('firstrun-offer').hidden = !(r && r.admin_pin_set === false); })
    .catch(() => { /* an older box without first-run setup: nothing to offer */ });
}

/** Keyboard on the pair view: digits, Backspace, Escape, Enter. */
export function pairKey(e) {
  if (!$('firstrun-form').hidden) return;
  if (/^[0-9]$/.test(e.key)) { e.preventDefault(); pinKey(e.key); }
  else if (e.key === 'Backspace') { e.preventDefault(); pinKey('back'); }
  else if (e.key === 'Escape') pinKey('clear');
  else if (e.key === 'Enter') { e.preventDefault(); pair(); } // never re-press a focused digit
}

function resetPin() { P.pin = ''; renderPin(); }
function renderPin() {
  const d = $('pin-display');
  const slots = Math.max(6, P.pin.length);
  d.replaceChildren(...Array.from({ length: slots }, (_, i) => h('span', { class: i < P.pin.length ? 'pin-dot on' : 'pin-dot' })));
  d.dataset.length = P.pin.length;
  d.setAttribute('aria-label', P.pin.length ? P.pin.length + ' digits entered' : 'No digits entered');
  const locked = Date.now() < P.lockUntil;
  $('pair-button').disabled = locked || P.busy || P.pin.length < PIN_MIN;
  for (const b of $('pinpad').querySelectorAll('.key:not(.key-go)')) b.disabled = locked || P.busy;
}
function setPairMsg(msg, isError = true) {
  const el = $('pair-msg');
  el.textContent = msg || '';
  el.classList.toggle('is-error', !!isError);
}
function pinKey(k) {
  if (Date.now() < P.lockUntil || P.busy) return;
  if (k === 'back') P.pin = P.pin.slice(0, -1);
  else if (k === 'clear') P.pin = '';
  else if (/^[0-9]$/.test(k) && P.pin.length < PIN_MAX) P.pin += k;
  renderPin();
}
let lockTimer = 0;
function lockPairing(seconds) {
  P.lockUntil = Date.now() + seconds * 1000;
  clearInterval(lockTimer);
  const tick = () => {
    const left = Math.ceil((P.lockUntil - Date.now()) / 1000);
    if (left <= 0) { clearInterval(lockTimer); P.lockUntil = 0; setPairMsg(''); renderPin(); return; }
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
  if (P.pin.length < PIN_MIN || P.busy || Date.now() < P.lockUntil) return;
  P.busy = true; renderPin();
  setPairMsg('Pairing…', false);
  try {
    savePairing(await api('POST', '/api/auth/pair', { pin: P.pin }, { auth: false }));
    P.pin = ''; setPairMsg('', false);
    P.onPaired();
  } catch (e) {
    P.pin = '';
    if (e.status === 429) lockPairing(e.retryAfter || 30);
    else { setPairMsg(e.status === 401 ? (e.message || 'Wrong PIN') : e.message); shake(); }
  } finally {
    P.busy = false; renderPin();
  }
}

// -- first run: pairing PIN from the projector + a new admin PIN, twice
function showFirstRun(open) {
  $('firstrun-form').hidden = !open;
  $('pair-main').hidden = open;
  $('firstrun-error').textContent = '';
  if (open) {
    for (const id of ['firstrun-pairing-pin', 'firstrun-admin-pin', 'firstrun-admin-pin2']) $(id).value = '';
    $('firstrun-pairing-pin').focus();
  }
}
async function firstRun(e) {
  e.preventDefault();
  const err = $('firstrun-error');
  const pairing = $('firstrun-pairing-pin').value.trim();
  const admin = $('firstrun-admin-pin').value.trim();
  if (!/^[0-9]{4,12}$/.test(pairing)) { err.textContent = 'Enter the PIN shown on the range screen.'; return; }
  if (!/^[0-9]{6,12}$/.test(admin)) { err.textContent = 'The admin PIN must be 6 to 12 digits.'; return; }
  if (admin !== $('firstrun-admin-pin2').value.trim()) { err.textContent = 'The two admin PINs differ.'; return; }
  if (admin === pairing) { err.textContent = 'The admin PIN must differ from the pairing PIN.'; return; }
  const btn = $('firstrun-save');
  btn.disabled = true;
  err.textContent = '';
  try {
    savePairing(await api('POST', '/api/setup/admin-pin', { pairing_pin: pairing, admin_pin: admin }, { auth: false }));
    showFirstRun(false);
    P.onPaired();
  } catch (ex) {
    err.textContent = ex.status === 409 ? 'This range is already set up: pair with a PIN.' : ex.message;
    if (ex.status === 409) $('firstrun-offer').hidden = true;
  } finally {
    btn.disabled = false;
  }
}
