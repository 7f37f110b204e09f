// Times: UTC everywhere, ISO 8601 as the API speaks it.

/** A Date from ISO 8601 text, taken as UTC when it names no zone; null if it does not parse. */
export function parseTime(text) {
  if (!text) return null;
  let value = text.trim().replace(' ', 'T');
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(value)) value += 'Z';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** ISO 8601 UTC with milliseconds and a Z. */
export function iso(date) {
  return date.toISOString();
}

/** "2026-11-28 04:05:06.789" for inputs: readable, and parseTime reads it back. */
export function shortIso(date) {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** Wall-clock time of day, UTC: "04:05:06.789" (or without milliseconds). */
export function clock(date, ms = true) {
  const text = date.toISOString().slice(11, ms ? 23 : 19);
  return text;
}

/** A length of time: "1:02:03.4", "2:03.4", "3.4 s". */
export function duration(seconds) {
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(seconds);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (!h && !m) return `${sign}${s.toFixed(1)} s`;
  const secs = s.toFixed(1).padStart(4, '0');
  return h ? `${sign}${h}:${String(m).padStart(2, '0')}:${secs}` : `${sign}${m}:${secs}`;
}

export function addSeconds(date, seconds) {
  return new Date(date.getTime() + seconds * 1000);
}

export function seconds(from, to) {
  return (to.getTime() - from.getTime()) / 1000;
}
