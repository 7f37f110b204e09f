// The player: hls.js over the node's HLS playlists, addressed by wall-clock time.
//
// Every segment of the node's playlists carries EXT-X-PROGRAM-DATE-TIME, and a hole is an
// EXT-X-DISCONTINUITY, after which hls.js lays the next segment right after the previous one
// on the media timeline. So media time is not wall time minus a constant: both ways go
// through the fragment list (fragment start on the media timeline <-> its program date time).
import Hls from '../vendor/hls-1.7.4.light.min.mjs';

export const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 4, 8];

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

  /** Play ``url`` (a media playlist); ``live`` when it has no end. Starts at ``at`` (a Date). */
  load(url, { live = false, at = null, fps = 30 } = {}) {
    this.destroy();
    this.live = live;
    this.fps = fps;
    this.fragments = [];
    this.pendingSeek = at;
    const hls = new Hls({
      liveSyncDurationCount: 2,
      maxBufferLength: 30,
      backBufferLength: 60,
      enableWorker: false, // the worker would be a blob: URL; everything comes from the node
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
