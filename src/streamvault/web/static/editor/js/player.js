// The player: hls.js over the node's HLS playlists, addressed by wall-clock time.
//
// Every segment of the node's playlists carries EXT-X-PROGRAM-DATE-TIME, and a hole is an
// EXT-X-DISCONTINUITY, after which hls.js lays the next segment right after the previous one
// on the media timeline. So media time is not wall time minus a constant: both ways go
// through the fragment list (fragment start on the media timeline <-> its program date time).
//
// hls.js is imported when the first video loads, not with this module: it is most of the
// editor's JavaScript, and compiling and running it before the rest of the page starts would
// hold back everything else (the timeline's first drawing waited on it). index.html preloads it.
import { afterPaint } from './frames.js';

const HLS = new URL('../vendor/hls-1.7.4.light.min.mjs', import.meta.url).href;
const WORKER = new URL('../vendor/hls-1.7.4.worker.js', import.meta.url).href;
let hlsModule = null;

/** The hls.js class, imported once. */
function loadHls() {
  hlsModule = hlsModule || import(HLS).then((module) => module.default);
  return hlsModule;
}

export const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 4, 8];
export const WINDOW = 20 * 60; // seconds
const EDGE = 5; // seconds: a seek this close to a window's edge moves the window

export class Player {
  constructor(video, { onError, onLoaded } = {}) {
    this.video = video;
    this.hls = null;
    this.fragments = [];
    this.live = false;
    this.fps = 30;
    this.pendingSeek = null;
    this.onError = onError || (() => {});
    this.onLoaded = onLoaded || (() => {});
  }

  /** Play the range ``[start, end)`` (``end`` null: live) from ``at`` (a Date, or its start).
   * ``urlFor(start, end)`` gives a media playlist's URL. */
  open(urlFor, start, end, { at = null, fps = 30 } = {}) {
    this.urlFor = urlFor;
    this.rangeStart = start;
    this.rangeEnd = end;
    this.openWindow(at || start, fps);
  }

  openWindow(at, fps = this.fps) {
    const live = this.rangeEnd === null;
    let start = this.rangeStart;
    let end = this.rangeEnd;
    if (!live) {
      start = new Date(Math.max(start.getTime(), at.getTime() - WINDOW * 1000));
      end = new Date(Math.min(end.getTime(), at.getTime() + WINDOW * 1000));
    }
    this.windowStart = start;
    this.windowEnd = end;
    this.load(this.urlFor(start, end), { live, at: live && at === this.rangeStart ? null : at, fps });
  }

  inWindow(date) {
    if (!this.windowStart) return false;
    const ms = date.getTime();
    const first = this.windowStart.getTime();
    const last = this.windowEnd ? this.windowEnd.getTime() : Infinity;
    const nearStart = first > this.rangeStart.getTime() && ms < first + EDGE * 1000;
    const nearEnd = this.windowEnd && last < this.rangeEnd.getTime() && ms > last - EDGE * 1000;
    return ms >= first && ms <= last && !nearStart && !nearEnd;
  }

  /** Play ``url`` (a media playlist); ``live`` when it has no end. Starts at ``at`` (a Date). */
  load(url, { live = false, at = null, fps = 30 } = {}) {
    this.destroy();
    this.live = live;
    this.fps = fps;
    this.fragments = [];
    this.pendingSeek = at;
    const loading = {};
    this.loading = loading;
    afterPaint().then(loadHls).then((Hls) => {
      if (this.loading === loading) this.attach(Hls, url);
    }, (err) => this.onError(`hls.js did not load: ${err.message || err}`));
  }

  attach(Hls, url) {
    const hls = new Hls({
      liveSyncDurationCount: 2,
      maxBufferLength: 30,
      backBufferLength: 60,
      enableWorker: true, // transmuxing off the main thread keeps the page responsive
      workerPath: WORKER,
      lowLatencyMode: false,
    });
    this.hls = hls;
    hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
      this.fragments = data.details.fragments.filter((f) => f.programDateTime !== null);
      if (this.pendingSeek) {
        const target = this.pendingSeek;
        this.pendingSeek = null;
        this.seekWall(target);
      }
      this.onLoaded(data.details);
    });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) {
        this.onError(`${data.type}: ${data.details}`);
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      }
    });
    hls.loadSource(url);
    hls.attachMedia(this.video);
  }

  destroy() {
    if (this.hls) this.hls.destroy();
    this.hls = null;
    this.loading = null;
  }

  /** The fragment playing at media time ``t`` (binary search), or null. */
  fragmentAt(t) {
    const list = this.fragments;
    let low = 0;
    let high = list.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const f = list[mid];
      if (t < f.start) high = mid - 1;
      else if (t >= f.start + f.duration) low = mid + 1;
      else return f;
    }
    return list.length && t >= list[list.length - 1].start ? list[list.length - 1] : null;
  }

  /** The wall-clock time (Date) of the frame shown. */
  wallTime() {
    const t = this.video.currentTime;
    const f = this.fragmentAt(t);
    if (!f) return null;
    return new Date(f.programDateTime + (t - f.start) * 1000);
  }

  /** Media time of wall time ``date``: inside a fragment, or the start of the next one. */
  mediaTime(date) {
    const ms = date.getTime();
    for (const f of this.fragments) {
      const end = f.programDateTime + f.duration * 1000;
      if (ms < end) return f.start + Math.max(0, (ms - f.programDateTime) / 1000);
    }
    return null;
  }

  seekWall(date) {
    if (this.urlFor && !this.inWindow(date)) {
      const playing = !this.video.paused;
      this.openWindow(date);
      if (playing) this.video.play().catch(() => {});
      return;
    }
    if (!this.fragments.length) {
      this.pendingSeek = date;
      return;
    }
    const t = this.mediaTime(date);
    if (t !== null) this.video.currentTime = t;
    else if (this.fragments.length) this.video.currentTime = this.fragments.at(-1).start;
  }

  seekBy(seconds) {
    const now = this.wallTime();
    if (now) this.seekWall(new Date(now.getTime() + seconds * 1000));
  }

  step(frames) {
    this.video.pause();
    this.video.currentTime = Math.max(0, this.video.currentTime + frames / this.fps);
  }

  toggle() {
    if (this.video.paused) this.video.play().catch((err) => this.onError(String(err)));
    else this.video.pause();
  }

  setSpeed(speed) {
    this.video.playbackRate = speed;
  }

  goLive() {
    if (this.hls && this.hls.liveSyncPosition) this.video.currentTime = this.hls.liveSyncPosition;
    this.video.play().catch(() => {});
  }
}

/** The frame rate of ``quality`` from the node's master playlist (FRAME-RATE), else 30. */
export async function frameRate(masterUrl, quality) {
  try {
    const text = await (await fetch(masterUrl)).text();
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i += 1) {
      if (!lines[i].startsWith('#EXT-X-STREAM-INF')) continue;
      const uri = lines[i + 1] || '';
      const rate = /FRAME-RATE=([\d.]+)/.exec(lines[i]);
      if (rate && uri.includes(`/${encodeURIComponent(quality)}.m3u8`)) return parseFloat(rate[1]);
    }
  } catch {
    // no master playlist: keep the default
  }
  return 30;
}
