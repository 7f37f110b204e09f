// The events side of the editor (SPEC §12, §13): the event list with its filters, save and
// submit, the 409 conflict shown with the other editor's version, and the cut job's progress
// and result.
import { EventsApi } from './api.js';
import { parseTime, shortIso } from './time.js';

const $ = (id) => document.getElementById(id);
export const events = new EventsApi('');
let pollTimer = null;
// What the rest of the editor lends this module (set once by initEvents).
let edit;
let view;
let status;
let openEvent;
let saveHash;

export function initEvents(parts) {
  ({ edit, view, status, openEvent, saveHash } = parts);
  $('filter-state').addEventListener('change', loadEvents);
  $('filter-q').addEventListener('input', () => { clearTimeout(loadEvents.timer); loadEvents.timer = setTimeout(loadEvents, 300); });
  $('new-event').addEventListener('click', () => {
    view.event = null;
    const ranges = edit.ranges;
    edit.load({ ranges: [], title: '', description: '' });
    edit.ranges = ranges;
    edit.render();
    showEventState(null);
    status('New event: mark ranges, then Save or Submit.');
  });

  $('save').addEventListener('click', () => save(false));
  $('submit').addEventListener('click', () => save(true));
}

let eventsOffered = null;
/** Whether this node serves the events API: asked of its OpenAPI document once. */
async function hasEvents() {
  if (eventsOffered === null) {
    try {
      const paths = (await (await fetch('/openapi.json')).json()).paths || {};
      eventsOffered = '/api/events' in paths;
    } catch { eventsOffered = false; }
    for (const id of ['save', 'submit', 'new-event']) $(id).disabled = !eventsOffered;
  }
  return eventsOffered;
}

export async function loadEvents() {
  const list = $('event-list');
  if (!(await hasEvents())) {
    list.replaceChildren(item('This node has no events database: cut downloads still work.', 'muted'));
    return;
  }
  try {
    const body = await events.list({ state: $('filter-state').value, q: $('filter-q').value, channel: view.channel });
    list.replaceChildren();
    if (!body.events.length) list.append(item('No events match.', 'muted'));
    for (const event of body.events) {
      const li = item('', event.id === view.event ? 'open' : '');
      const state = document.createElement('span');
      state.className = 'state';
      state.textContent = event.state;
      const first = event.ranges && event.ranges[0] ? shortIso(parseTime(event.ranges[0].start)).slice(5, 19) : '';
      li.append(state, `${event.title || '(untitled)'} `, small(first));
      li.addEventListener('click', () => openEvent(event.id));
      list.append(li);
    }
  } catch (err) {
    list.replaceChildren(item(`Events unavailable (${err.message})`, 'muted'));
  }
}

function item(text, className) { const li = document.createElement('li'); li.textContent = text; if (className) li.className = className; return li; }
function small(text) { const s = document.createElement('small'); s.className = 'muted'; s.textContent = text; return s; }

export function showEventState(event) {
  $('event-state').textContent = event ? `${event.state} · v${event.version}` : 'new';
  $('conflict').hidden = true;
}

async function save(submit) {
  const problems = edit.valid();
  if (problems.length) { status(`Not saved: ${problems.join('; ')}`, true); return; }
  const fields = edit.toEvent(view.channel, view.quality);
  const current = edit.event && edit.event.id ? edit.event : null;
  if (submit) fields.state = current && current.state === 'DONE' ? 'MODIFIED' : 'EDITED';
  status(submit ? 'Submitting…' : 'Saving…');
  const result = current ? await events.update(current.id, current.version, fields) : await events.create(fields);
  if (result.ok) {
    edit.event = result.event;
    view.event = result.event.id;
    showEventState(result.event);
    status(submit ? 'Submitted: a cutter will pick it up.' : 'Saved.');
    saveHash();
    loadEvents();
    watchJob(result.event);
  } else if (result.status === 409 && result.current) {
    showConflict(result.current, fields, submit);
    status('Not saved: someone else changed this event.', true);
  } else {
    status(`Not saved: ${result.error}`, true);
  }
}

function showConflict(theirs, mine, submit) {
  const box = $('conflict');
  box.replaceChildren();
  const heading = document.createElement('strong');
  heading.textContent = `Another editor saved version ${theirs.version}${theirs.editor ? ` (${theirs.editor})` : ''} at ${theirs.updated || '?'}. Yours was based on version ${edit.event.version}.`;
  const detail = document.createElement('pre');
  const ranges = (list) => (list || []).map((r) => `${r.start} – ${r.end}`).join('; ') || 'none';
  const lines = [`state: theirs ${theirs.state}`];
  for (const name of ['title', 'description', 'category', 'cut_type']) {
    if ((theirs[name] || '') !== (mine[name] || '')) lines.push(`${name}: theirs “${theirs[name] || ''}”, yours “${mine[name] || ''}”`);
  }
  const theirRanges = ranges(theirs.ranges);
  const myRanges = ranges(mine.ranges);
  lines.push(theirRanges === myRanges ? `ranges: the same (${theirRanges})` : `ranges: theirs ${theirRanges}\n        yours ${myRanges}`);
  detail.textContent = lines.join('\n');
  const take = document.createElement('button');
  take.textContent = 'Load their version';
  take.addEventListener('click', () => { edit.load(theirs); showEventState(theirs); status('Loaded their version.'); });
  const keep = document.createElement('button');
  keep.textContent = 'Overwrite with mine';
  keep.addEventListener('click', async () => { edit.event = theirs; box.hidden = true; await save(submit); });
  box.append(heading, detail, take, ' ', keep);
  box.hidden = false;
}


export function watchJob(event) {
  clearTimeout(pollTimer);
  const job = $('job');
  job.replaceChildren();
  if (!event || !event.state) return;
  const line = document.createElement('div');
  line.textContent = `Cut job: ${event.state}`;
  job.append(line);
  if (event.progress !== null && event.progress !== undefined && event.state !== 'DONE') {
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = event.progress;
    job.append(bar);
  }
  if (event.state === 'FAILED' && event.error) job.append(small(`error: ${event.error}`));
  if (event.state === 'DONE' && event.output) {
    // A URL (object storage) is a link; a path is where the cutter wrote the file.
    const location = event.output.location;
    const link = document.createElement(/^https?:\/\//.test(location) ? 'a' : 'code');
    link.id = 'result-link';
    link.dataset.location = location;
    if (link.tagName === 'A') link.href = location;
    link.textContent = `${location} (${(event.output.size / 1e6).toFixed(1)} MB)`;
    job.append('Result: ', link);
  }
  if (['EDITED', 'CLAIMED', 'MODIFIED'].includes(event.state)) {
    pollTimer = setTimeout(async () => {
      try {
        const fresh = await events.get(event.id);
        if (edit.event && edit.event.id === fresh.id && fresh.state !== edit.event.state) {
          // the cutter moved it on: take its new version, so the next save is not stale
          edit.event = { ...edit.event, state: fresh.state, version: fresh.version };
          showEventState(fresh);
          loadEvents();
        }
        watchJob(fresh);
      } catch { watchJob(event); }
    }, 2000);
  }
}
