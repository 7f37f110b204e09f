// The timeline: the loaded range with its coverage, the audio waveform, the ranges and
// chapters marked, the playhead, and time labels; wheel zooms (a day down to seconds), a drag
// pans, a click seeks.
import { clock } from './time.js';

const COLOURS = { full: '#2e9e4f', partial: '#e0a526', hole: '#d43d3d', none: '#d9d9d9' };
const STEPS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
export const MIN_VIEW = 5; // seconds
export const MAX_VIEW = 7 * 86400;

export class Timeline {
  constructor(canvas, { onSeek, onView }) {
    this.canvas = canvas;
    this.onSeek = onSeek;
    this.onView = onView;
    this.start = null; // loaded range
    this.end = null;
    this.viewStart = null;
    this.viewEnd = null;
    this.spans = [];
    this.waveform = null; // { image, start, end }
    this.ranges = [];
    this.active = 0;
    this.chapters = [];
    this.playhead = null;
    this.drawn = 0;
    this.frame = 0; // a drawing asked for, not yet done
    this.bind();
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setRange(start, end) {
    const keepView = this.viewStart && this.start && this.viewEnd >= this.end - 0;
    this.start = start;
    this.end = end;
    if (!keepView || !this.viewStart) this.setView(start, end);
    this.draw();
  }

  setView(start, end) {
    let a = start.getTime();
    let b = end.getTime();
    const span = Math.min(Math.max(b - a, MIN_VIEW * 1000), MAX_VIEW * 1000);
    const mid = (a + b) / 2;
    a = mid - span / 2;
    b = mid + span / 2;
    this.viewStart = new Date(a);
    this.viewEnd = new Date(b);
    this.draw();
    this.onView(this.viewStart, this.viewEnd);
  }

  zoomTo(seconds, centre) {
    if (seconds === 'fit') {
      this.setView(this.start, this.end);
      return;
    }
    const c = (centre || this.playhead || new Date((this.viewStart.getTime() + this.viewEnd.getTime()) / 2)).getTime();
    this.setView(new Date(c - (seconds * 500)), new Date(c + seconds * 500));
  }

  x(date) {
    const w = this.canvas.clientWidth;
    return ((date.getTime() - this.viewStart.getTime()) / (this.viewEnd.getTime() - this.viewStart.getTime())) * w;
  }

  timeAt(x) {
    const w = this.canvas.clientWidth;
    return new Date(this.viewStart.getTime() + (x / w) * (this.viewEnd.getTime() - this.viewStart.getTime()));
  }

  bind() {
    let drag = null;
    this.canvas.addEventListener('wheel', (event) => {
      event.preventDefault();
      if (!this.viewStart) return;
      const at = this.timeAt(event.offsetX).getTime();
      const factor = event.deltaY > 0 ? 1.5 : 1 / 1.5;
      const a = at - (at - this.viewStart.getTime()) * factor;
      const b = at + (this.viewEnd.getTime() - at) * factor;
      this.setView(new Date(a), new Date(b));
    }, { passive: false });
    this.canvas.addEventListener('mousedown', (event) => {
      drag = { x: event.offsetX, start: this.viewStart, end: this.viewEnd, moved: false };
    });
    this.canvas.addEventListener('mousemove', (event) => {
      if (!drag) return;
      const dx = event.offsetX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (!drag.moved) return;
      const ms = (dx / this.canvas.clientWidth) * (drag.end - drag.start);
      this.viewStart = new Date(drag.start.getTime() - ms);
      this.viewEnd = new Date(drag.end.getTime() - ms);
      this.draw();
    });
    window.addEventListener('mouseup', (event) => {
      if (!drag) return;
      const moved = drag.moved;
      drag = null;
      if (moved) this.onView(this.viewStart, this.viewEnd);
      else if (event.target === this.canvas && this.viewStart) this.onSeek(this.timeAt(event.offsetX));
    });
  }

  /** Draw in the next frame: the many changes of a moment (loading, seeking, playing, an
   * edit) make one drawing, and none of them waits on the page's layout. */
  draw() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.paint(); });
  }

  paint() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (!w || !h) return;
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    g.fillStyle = '#fafbfc';
    g.fillRect(0, 0, w, h);
    if (!this.viewStart) return;
    const band = { y: 0, h: 14 };
    const wave = { y: 16, h: 48 };
    const marks = { y: 66, h: 22 };
    // coverage
    for (const span of this.spans) {
      const a = this.x(span.start);
      const b = this.x(span.end);
      if (b < 0 || a > w) continue;
      g.fillStyle = COLOURS[span.kind];
      g.fillRect(a, band.y, Math.max(b - a, span.kind === 'hole' ? 2 : 0.5), band.h);
    }
    // waveform
    g.fillStyle = '#eef1f5';
    g.fillRect(0, wave.y, w, wave.h);
    if (this.waveform && this.waveform.image.complete && this.waveform.image.naturalWidth) {
      const a = this.x(this.waveform.start);
      const b = this.x(this.waveform.end);
      g.drawImage(this.waveform.image, a, wave.y, b - a, wave.h);
    } else {
      g.fillStyle = '#8a94a0';
      g.font = '11px system-ui';
      g.fillText(this.waveformNote || 'waveform: zoom in to 2 h or less', 6, wave.y + 28);
    }
    // ranges
    this.ranges.forEach((range, index) => {
      if (!range.start) return;
      const a = this.x(range.start);
      const b = range.end ? this.x(range.end) : a + 2;
      const active = index === this.active;
      g.fillStyle = active ? 'rgba(47,111,214,0.35)' : 'rgba(47,111,214,0.18)';
      g.fillRect(a, wave.y, b - a, marks.y + marks.h - wave.y);
      g.fillStyle = '#2f6fd6';
      g.fillRect(a - 1, wave.y, 2, marks.y + marks.h - wave.y);
      if (range.end) g.fillRect(b - 1, wave.y, 2, marks.y + marks.h - wave.y);
      g.font = 'bold 11px system-ui';
      g.fillText(`${index + 1}`, a + 3, marks.y + 14);
    });
    // chapters
    g.font = '11px system-ui';
    for (const chapter of this.chapters) {
      if (!chapter.time) continue;
      const a = this.x(chapter.time);
      g.fillStyle = '#7a3fc4';
      g.beginPath();
      g.moveTo(a, marks.y);
      g.lineTo(a - 5, marks.y + 8);
      g.lineTo(a + 5, marks.y + 8);
      g.fill();
      g.fillText(chapter.title || 'chapter', a + 6, marks.y + 20);
    }
    // time labels
    const seconds = (this.viewEnd - this.viewStart) / 1000;
    const step = STEPS.find((s) => seconds / s <= Math.max(2, w / 90)) || 86400;
    const first = Math.ceil(this.viewStart.getTime() / (step * 1000)) * step * 1000;
    g.fillStyle = '#333';
    g.strokeStyle = '#9aa3ad';
    for (let t = first; t <= this.viewEnd.getTime(); t += step * 1000) {
      const x = this.x(new Date(t));
      g.beginPath();
      g.moveTo(x, marks.y + marks.h);
      g.lineTo(x, marks.y + marks.h + 5);
      g.stroke();
      const date = new Date(t);
      const label = step >= 86400 ? date.toISOString().slice(5, 10) : clock(date, step < 1);
      g.fillText(step < 60 || step % 60 ? label : label.slice(0, 5), x + 2, h - 3);
    }
    // playhead
    if (this.playhead) {
      const x = this.x(this.playhead);
      g.fillStyle = '#c0262d';
      g.fillRect(x - 1, 0, 2, h - 14);
    }
    this.drawn += 1;
    canvas.dataset.drawn = String(this.drawn);
    canvas.dataset.spans = String(this.spans.length); // drawn with its coverage
  }
}
