// Chat replay (SPEC §13, §14): the archived chat up to the frame shown, newest at the bottom.
//
// Chat is asked of the node in windows of WINDOW seconds aligned on the epoch (the node serves
// at most 2 h per request; a week at once would be far too much), cached (a bounded number of
// windows; a window that may still be growing — near now — is asked again after a while). The
// pane shows the last KEEP messages of the window playing and the one before it, so a seek
// shows the chat just before the new position at once. Chat text is someone else's: it only
// ever reaches the page as textContent, never as HTML.
import { clock } from './time.js';

export const WINDOW = 120; // seconds per request
export const KEEP = 150; // messages in the pane at most
const CACHED = 40; // windows kept
const PREFETCH = 20; // seconds before a window's end the next one is asked for
const SETTLE = 150; // seconds after a window's end its batches are on disk (60 s + 60 s lag, and slack)
const RECHECK = 15_000; // ms: a window that may still grow is asked again after this
const RETRY_MIN = 2_000; // ms: a failed request is retried after this, growing...
const RETRY_MAX = 60_000; // ...to at most this
const SHOWN = new Set(['PRIVMSG', 'USERNOTICE']);
const COLOUR = /^#[0-9a-f]{6}$/i;

/** A message's identity: its id tag, else what it says and when. */
function keyOf(message) {
  const id = message.tags && message.tags.id;
  return typeof id === 'string' && id ? id : `${message.command}|${message.sender}|${message.time}|${message.params.join(' ')}`;
}

/** The text a message shows: what was said, or a USERNOTICE's system message and what was said. */
function textOf(message) {
  const said = message.params.length > 1 ? message.params[message.params.length - 1] : '';
  if (message.command !== 'USERNOTICE') return said;
  const system = message.tags && typeof message.tags['system-msg'] === 'string' ? message.tags['system-msg'].trim() : '';
  return [system, said].filter(Boolean).join(' — ');
}

function nameOf(message) {
  const tags = message.tags || {};
  return tags['display-name'] || tags.login || message.user || message.sender || '?';
}

export class ChatPane {
  /** ``list`` holds the messages, ``note`` the empty/error state. */
  constructor(list, note) {
    this.list = list;
    this.note = note;
    this.source = null; // { key, fetch(start, end) -> Promise<messages> }
    this.cache = new Map(); // `${source}|${window}` -> { promise, result, error, at }
    this.failures = 0;
    this.shownKeys = '';
    this.shownIndex = null;
    this.time = null;
  }

  /** Chat of another channel or node: ``fetch(start, end)`` asks for a range. */
  setSource(key, fetch) {
    if (this.source && this.source.key === key) return;
    this.source = key ? { key, fetch } : null;
    this.shownKeys = '';
    this.shownIndex = null;
    this.list.replaceChildren();
    this.setNote(key ? 'loading chat…' : 'no channel', false);
  }

  /** Show the chat up to ``time`` (a Date; null: nothing playing). */
  show(time) {
    this.time = time;
    if (!this.source || !time) return;
    const ms = time.getTime();
    const index = Math.floor(ms / 1000 / WINDOW);
    const entries = [this.entry(index - 1), this.entry(index)];
    if ((index + 1) * WINDOW - ms / 1000 < PREFETCH) this.entry(index + 1);
    const failed = entries.find((e) => e.error);
    if (entries.some((e) => !e.result && !e.error)) {
      // the chat of another time is not left listed as if it were this time's
      if (this.shownIndex !== index) this.render([], null, index);
      this.setNote('loading chat…', false);
      return;
    }
    if (failed) {
      this.render([], null, index);
      this.setNote(`Chat unavailable: ${failed.error}`, true);
      return;
    }
    this.render(this.upTo(entries, ms), ms, index);
  }

  /** The last KEEP messages at or before ``ms`` of the entries' windows, in time order. */
  upTo(entries, ms) {
    const seen = new Set();
    const wanted = [];
    for (const entry of entries) {
      for (const message of entry.result) {
        if (message.time * 1000 > ms || !SHOWN.has(message.command)) continue;
        const key = keyOf(message);
        if (seen.has(key)) continue; // a message with a time range can be in two windows
        seen.add(key);
        wanted.push({ key, message });
      }
    }
    wanted.sort((a, b) => a.message.time - b.message.time);
    return wanted.slice(-KEEP);
  }

  /** The cache entry of window ``index``, asking the node for it when needed. */
  entry(index) {
    const source = this.source;
    const name = `${source.key}|${index}`;
    const now = Date.now();
    const cached = this.cache.get(name);
    if (cached && !this.stale(cached, index, now)) return cached;
    if (cached && cached.promise) return cached; // asked again already, not answered yet
    const entry = cached || { result: null, error: null, at: now, promise: null };
    const start = new Date(index * WINDOW * 1000);
    const end = new Date((index + 1) * WINDOW * 1000);
    entry.promise = source.fetch(start, end).then(
      (messages) => { Object.assign(entry, { result: messages, error: null }); this.failures = 0; },
      (err) => {
        this.failures += 1;
        Object.assign(entry, { error: err.message || String(err), result: null });
      },
    ).finally(() => {
      entry.promise = null;
      entry.at = Date.now();
      if (this.source === source && this.time) this.show(this.time);
    });
    this.cache.delete(name);
    this.cache.set(name, entry);
    while (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value);
    return entry;
  }

  stale(entry, index, now) {
    if (entry.promise) return false;
    if (entry.error) {
      const wait = Math.min(RETRY_MAX, RETRY_MIN * 2 ** Math.max(0, this.failures - 1));
      return now - entry.at > wait * (0.75 + Math.random() * 0.5);
    }
    const settled = entry.at > ((index + 1) * WINDOW + SETTLE) * 1000;
    return !settled && now - entry.at > RECHECK;
  }

  /** List ``wanted``, the chat up to ``ms`` (null: none yet) of window ``index``. */
  render(wanted, ms, index) {
    this.shownIndex = index;
    this.list.dataset.at = ms === null ? '' : String(ms / 1000); // the time it shows
    this.setNote(wanted.length ? '' : 'No chat archived for this time.', false);
    const keys = wanted.length ? `${wanted.length}|${wanted[0].key}|${wanted[wanted.length - 1].key}` : '0';
    if (keys === this.shownKeys) return;
    const pinned = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 24;
    const old = new Map();
    for (const element of this.list.children) old.set(element.dataset.key, element);
    this.list.replaceChildren(...wanted.map(({ key, message }) => old.get(key) || this.line(key, message)));
    const jumped = !this.shownKeys || !wanted.length || !old.has(wanted[0].key);
    this.shownKeys = keys;
    if (pinned || jumped) this.list.scrollTop = this.list.scrollHeight;
  }

  line(key, message) {
    const li = document.createElement('li');
    li.dataset.key = key;
    li.dataset.time = String(message.time);
    if (message.command === 'USERNOTICE') li.className = 'notice';
    const when = document.createElement('time');
    const date = new Date(message.time * 1000);
    when.dateTime = date.toISOString();
    when.textContent = clock(date, false);
    const who = document.createElement('b');
    who.textContent = nameOf(message);
    const colour = message.tags && message.tags.color;
    if (typeof colour === 'string' && COLOUR.test(colour)) who.style.color = colour;
    const text = document.createElement('span');
    text.textContent = textOf(message);
    li.append(when, ' ', who, ': ', text);
    return li;
  }

  setNote(text, error) {
    this.note.textContent = text;
    this.note.hidden = !text;
    this.note.classList.toggle('error', error);
  }
}
