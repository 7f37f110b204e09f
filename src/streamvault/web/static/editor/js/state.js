// The view as a link: everything needed to reopen exactly this view lives in the URL's hash.
import { iso, parseTime } from './time.js';

const TIMES = ['start', 'end', 't', 'vs', 've'];

export function readHash(hash = location.hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const state = {};
  for (const [name, value] of params) state[name] = TIMES.includes(name) ? parseTime(value) : value;
  return state;
}

export function writeHash(state) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(state)) {
    if (value === null || value === undefined || value === '') continue;
    params.set(name, value instanceof Date ? iso(value) : String(value));
  }
  return `#${params}`;
}
