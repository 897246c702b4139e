/* Formatting: clocks, dates, audience names, event descriptions, readable text on a colour. */

export const pad2 = (n) => String(n).padStart(2, '0');

/** Seconds as mm:ss (h:mm:ss past an hour). */
export function clock(s) {
  s = Math.max(0, Math.floor(Number(s) || 0));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60);
  return (hh ? hh + ':' : '') + pad2(mm) + ':' + pad2(s % 60);
}

/** An ISO time as a local "2026-11-23 14:05". */
export function dateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' +
    pad2(d.getHours()) + ':' + pad2(d.getMinutes());
}

export const audienceLabel = (a) => { const t = String(a).replace(/-/g, ' '); return t.charAt(0).toUpperCase() + t.slice(1); };
const num2 = (v) => (typeof v === 'number' ? v.toFixed(2) : '?');

/** A scenario duration as "≈ 4 min". */
export function minutes(sec) {
  if (!(sec > 0)) return '';
  return sec < 60 ? '< 1 min' : '≈ ' + Math.round(sec / 60) + ' min';
}

export const KIND_COLOURS = { 'de-escalate': '#2e7d32', comply: '#1565c0', escalate: '#c62828', neutral: '#616161' };

/** Black or white, whichever reads better on the hex colour. */
export function textColourFor(hex) {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex || '');
  if (!m) return '#fff';
  const v = parseInt(m[1], 16);
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const L = 0.2126 * lin(v >> 16) + 0.7152 * lin((v >> 8) & 255) + 0.0722 * lin(v & 255);
  return (L + 0.05) / 0.05 > 1.05 / (L + 0.05) ? '#000' : '#fff';
}

export const KIND_LABELS = {
  session_started: 'Start', scene_entered: 'Scene', branch: 'Branch', paused: 'Pause', resumed: 'Resume',
  replayed: 'Replay', flagged: 'Flag', hit: 'Hit', input: 'Input', session_ended: 'End', interrupted: 'Interrupted',
  emergency_stop: 'E-STOP', calibration_check: 'Camera', threat_cue: 'Threat', shot: 'Shot',
  input_gesture: 'Input', restarted: 'Restart', rubric_scored: 'Rubric',
};

/** One line describing an EVENT (docs/api.md) for the timeline. */
export function eventDetail(ev) {
  const d = ev.data || {};
  switch (ev.kind) {
    case 'session_started': return 'Session started';
    case 'scene_entered': return 'Scene: ' + (d.title || ev.scene_id || '?');
    case 'branch': return 'Branch: ' + (d.label || d.choice || d.how || d.to || '?') + ' (' + (ev.actor || '?') + ')';
    case 'paused': return d.blank ? 'Paused (screen blanked)' : 'Paused';
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
    case 'rubric_scored':
      return 'Rubric: ' + (d.label || d.item || '?') + ' ' + d.score + '/' + d.max + (d.trainee ? ' (' + d.trainee + ')' : '');
    case 'calibration_check':
      return d.passed === true ? 'Camera self-check passed'
        : d.passed === false ? 'Camera self-check FAILED: ' + (d.message || '') : 'Camera self-check not run';
    case 'session_ended': return 'Session ended' + (d.outcome ? ': ' + d.outcome : '');
    case 'interrupted': return 'Interrupted' + (d.reason ? ': ' + d.reason : '');
    default: return (ev.kind || 'event') + ' ' + JSON.stringify(d);
  }
}

/** The scene titles a session went through, from its events (consecutive repeats merged). */
export function pathTitles(events) {
  const path = [];
  let last = null;
  for (const e of events) {
    if (e.kind !== 'scene_entered') continue;
    const id = e.scene_id || (e.data && e.data.title);
    if (id === last) continue;
    last = id;
    path.push((e.data && e.data.title) || e.scene_id);
  }
  return path;
}
