// Talking to nodes: media (playlists, frames, waveforms, spans, cuts, chat) from the chosen node,
// events from this page's own node (every node of a cluster shares one event database).
import { iso } from './time.js';

export class NodeApi {
  constructor(base) {
    this.base = base.replace(/\/$/, '');
  }

  url(path, params = {}) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value === null || value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) {
        query.append(name, one instanceof Date ? iso(one) : String(one));
      }
    }
    const text = query.toString();
    return `${this.base}${path}${text ? `?${text}` : ''}`;
  }

  async json(path, params) {
    const response = await fetch(this.url(path, params));
    if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).trim()}`);
    return response.json();
  }

  channels() { return this.json('/files'); }
  qualities(channel) { return this.json(`/files/${encodeURIComponent(channel)}`); }

  spans(channel, quality, start, end) {
    return this.json(`/spans/${encodeURIComponent(channel)}/${encodeURIComponent(quality)}.json`, { start, end });
  }

  playlist(channel, quality, start, end) {
    return this.url(`/playlist/${encodeURIComponent(channel)}/${encodeURIComponent(quality)}.m3u8`, { start, end });
  }

  master(channel, start, end) {
    return this.url(`/playlist/${encodeURIComponent(channel)}.m3u8`, { start, end });
  }

  /** The archived chat messages of ``[start, end)`` (at most 2 h). */
  chat(channel, start, end) {
    return this.json(`/${encodeURIComponent(channel)}/chat.json`, { start, end });
  }

  frame(channel, quality, timestamp) {
    return this.url(`/frame/${encodeURIComponent(channel)}/${encodeURIComponent(quality)}.png`, { timestamp });
  }

  waveform(channel, quality, start, end, width, height) {
    return this.url(`/waveform/${encodeURIComponent(channel)}/${encodeURIComponent(quality)}.png`,
      { start, end, size: `${width}x${height}` });
  }

  cut(channel, quality, ranges, type, allowHoles) {
    return this.url(`/cut/${encodeURIComponent(channel)}/${encodeURIComponent(quality)}.ts`, {
      range: ranges.map((r) => `${iso(r.start)},${iso(r.end)}`),
      type,
      allow_holes: allowHoles ? 'true' : null,
    });
  }
}

/** The events API of SPEC §12, on this page's own node. */
export class EventsApi {
  constructor(base = '') {
    this.base = base;
  }

  async list(filters) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
    const response = await fetch(`${this.base}/api/events?${params}`);
    if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).trim()}`);
    return response.json();
  }

  async get(id) {
    const response = await fetch(`${this.base}/api/events/${encodeURIComponent(id)}`);
    if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).trim()}`);
    return response.json();
  }

  async create(fields) {
    return this.send('POST', '/api/events', fields, null);
  }

  async update(id, version, fields) {
    return this.send('PATCH', `/api/events/${encodeURIComponent(id)}`, fields, version);
  }

  /** { ok, status, event, current, error }: a 409 gives the other editor's version in current. */
  async send(method, path, fields, version) {
    const headers = { 'Content-Type': 'application/json' };
    if (version !== null) headers['If-Match'] = `"${version}"`;
    const response = await fetch(`${this.base}${path}`, { method, headers, body: JSON.stringify(fields) });
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch { body = null; }
    if (response.ok) return { ok: true, status: response.status, event: body };
    return {
      ok: false,
      status: response.status,
      current: body && body.current ? body.current : null,
      error: body && body.error ? body.error : text.trim() || `HTTP ${response.status}`,
    };
  }
}
