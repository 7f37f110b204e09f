// The edit being made: ranges with transitions, chapters and the video's metadata, and the
// form that shows them. ``toEvent()`` gives the fields of SPEC §12's event.
import { iso, parseTime, shortIso, duration, seconds } from './time.js';

export const MAX_TITLE = 100;
export const MAX_DESCRIPTION = 5000;
export const TRANSITIONS = ['cut', 'fade', 'fadeblack', 'fadewhite', 'dissolve', 'wipeleft', 'wiperight',
  'slideleft', 'slideright', 'circleopen', 'circleclose', 'pixelize'];

const $ = (id) => document.getElementById(id);

export class Edit {
  constructor({ player, onChange, onPreview }) {
    this.player = player;
    this.onChange = onChange;
    this.onPreview = onPreview;
    this.ranges = [{ start: null, end: null, transition: null }];
    this.active = 0;
    this.chapters = [];
    this.thumbnail = null;
    this.event = null; // the stored event this edit is based on
    for (const [id, limit] of [['title', MAX_TITLE], ['description', MAX_DESCRIPTION]]) {
      $(id).addEventListener('input', () => this.checkLength(id, limit));
      this.checkLength(id, limit);
    }
    $('add-range').addEventListener('click', () => this.addRange());
    $('add-chapter').addEventListener('click', () => this.addChapter());
    $('thumb-set').addEventListener('click', () => this.setThumbnail(this.player.wallTime()));
    $('thumb-clear').addEventListener('click', () => this.setThumbnail(null));
  }

  checkLength(id, limit) {
    const field = $(id);
    const count = $(`${id}-count`);
    const length = [...field.value].length;
    count.textContent = `${length} / ${limit}`;
    const over = length > limit;
    count.classList.toggle('over', over);
    field.classList.toggle('invalid', over);
    field.setCustomValidity(over ? `at most ${limit} characters` : '');
    return !over;
  }

  valid() {
    const problems = [];
    if (!this.checkLength('title', MAX_TITLE)) problems.push(`the title is longer than ${MAX_TITLE} characters`);
    if (!this.checkLength('description', MAX_DESCRIPTION)) problems.push(`the description is longer than ${MAX_DESCRIPTION} characters`);
    this.ranges.forEach((r, i) => {
      if (!r.start || !r.end) problems.push(`range ${i + 1} needs a start and an end`);
      else if (r.end <= r.start) problems.push(`range ${i + 1} ends before it starts`);
    });
    return problems;
  }

  /** ``[`` and ``]``: the active range's start or end at the frame shown. */
  mark(which, date = this.player.wallTime()) {
    if (!date) return;
    this.ranges[this.active][which] = date;
    this.render();
  }

  addRange() {
    const last = this.ranges.at(-1);
    if (last && !last.transition) last.transition = null;
    this.ranges.push({ start: null, end: null, transition: null });
    this.active = this.ranges.length - 1;
    this.render();
  }

  removeRange(index) {
    this.ranges.splice(index, 1);
    if (!this.ranges.length) this.ranges.push({ start: null, end: null, transition: null });
    this.active = Math.min(this.active, this.ranges.length - 1);
    if (this.ranges.length) this.ranges.at(-1).transition = null;
    this.render();
  }

  addChapter() {
    const time = this.player.wallTime();
    if (!time) return;
    this.chapters.push({ time, title: '' });
    this.chapters.sort((a, b) => a.time - b.time);
    this.render();
  }

  setThumbnail(time) {
    this.thumbnail = time ? { time } : null;
    this.render();
  }

  render() {
    const list = $('ranges');
    list.replaceChildren();
    this.ranges.forEach((range, index) => list.append(this.rangeItem(range, index)));
    const chapters = $('chapters');
    chapters.replaceChildren();
    this.chapters.forEach((chapter, index) => chapters.append(this.chapterItem(chapter, index)));
    const thumb = $('thumb');
    if (this.thumbnail && this.onThumbnailUrl) {
      thumb.src = this.onThumbnailUrl(this.thumbnail.time);
      thumb.alt = `thumbnail at ${shortIso(this.thumbnail.time)}`;
      thumb.hidden = false;
    } else {
      thumb.hidden = true;
      thumb.removeAttribute('src');
    }
    this.onChange();
  }

  rangeItem(range, index) {
    const item = document.createElement('li');
    item.classList.toggle('active', index === this.active);
    item.addEventListener('focusin', () => { if (this.active !== index) { this.active = index; this.markActive(); } });
    item.addEventListener('click', () => { if (this.active !== index) { this.active = index; this.markActive(); } });
    const row = (label, which) => {
      const line = document.createElement('div');
      const input = document.createElement('input');
      input.value = range[which] ? shortIso(range[which]) : '';
      input.placeholder = which === 'start' ? 'start ( [ )' : 'end ( ] )';
      input.className = `range-${which}`;
      input.addEventListener('change', () => {
        const value = parseTime(input.value);
        input.classList.toggle('invalid', Boolean(input.value) && !value);
        if (value || !input.value) { range[which] = value; this.render(); }
      });
      const set = button('set', `set the ${which} from the player`, () => { this.active = index; this.mark(which); });
      line.append(`${label} `, input, ' ', set);
      return line;
    };
    item.append(row('from', 'start'), row('to', 'end'));
    const tools = document.createElement('div');
    const length = range.start && range.end ? duration(seconds(range.start, range.end)) : '';
    tools.append(
      button('play from', 'play this range from its start', () => { if (range.start) this.onPreview(range.start); }),
      ' ',
      button('remove', 'remove this range', () => this.removeRange(index)),
      ` ${length}`,
    );
    item.append(tools);
    if (index < this.ranges.length - 1) item.append(this.transitionItem(range, index));
    return item;
  }

  transitionItem(range, index) {
    const box = document.createElement('div');
    box.className = 'transition';
    const kind = document.createElement('select');
    kind.className = 'transition-type';
    kind.title = `how range ${index + 1} joins range ${index + 2}`;
    for (const name of TRANSITIONS) kind.append(new Option(name, name));
    kind.value = range.transition ? range.transition.type : 'cut';
    const length = document.createElement('input');
    length.type = 'number';
    length.min = '0.1';
    length.max = '10';
    length.step = '0.1';
    length.style.width = '52px';
    length.value = range.transition ? range.transition.duration : 1;
    length.disabled = kind.value === 'cut';
    const update = () => {
      range.transition = kind.value === 'cut' ? null : { type: kind.value, duration: parseFloat(length.value) || 1 };
      length.disabled = kind.value === 'cut';
      this.onChange();
    };
    kind.addEventListener('change', update);
    length.addEventListener('change', update);
    const next = this.ranges[index + 1];
    const preview = button('preview', 'play the join: the last seconds of this range, then the next', () => {
      if (range.end && next.start) this.onPreview(new Date(range.end.getTime() - 3000), { joinAt: range.end, next: next.start, transition: range.transition });
    });
    box.append('↓ ', kind, ' ', length, ' s ', preview);
    return box;
  }

  chapterItem(chapter, index) {
    const item = document.createElement('li');
    const title = document.createElement('input');
    title.value = chapter.title;
    title.placeholder = 'chapter title';
    title.maxLength = MAX_TITLE;
    title.addEventListener('input', () => { chapter.title = title.value; this.onChange(); });
    item.append(
      button(shortIso(chapter.time).slice(11, 21), 'play from this chapter', () => this.onPreview(chapter.time)),
      ' ', title, ' ',
      button('×', 'remove this chapter', () => { this.chapters.splice(index, 1); this.render(); }),
    );
    return item;
  }

  markActive() {
    [...$('ranges').children].forEach((li, i) => li.classList.toggle('active', i === this.active));
    this.onChange();
  }

  completeRanges() {
    return this.ranges.filter((r) => r.start && r.end && r.end > r.start);
  }

  toEvent(channel, quality) {
    const ranges = this.completeRanges();
    return {
      channel,
      quality,
      ranges: ranges.map((r, i) => ({
        start: iso(r.start),
        end: iso(r.end),
        transition: i < ranges.length - 1 ? r.transition : null,
      })),
      title: $('title').value,
      description: $('description').value,
      tags: $('tags').value.split(',').map((t) => t.trim()).filter(Boolean),
      category: $('category').value,
      chapters: this.chapters.filter((c) => c.title).map((c) => ({ time: iso(c.time), title: c.title })),
      thumbnail: this.thumbnail ? { time: iso(this.thumbnail.time) } : null,
      cut_type: $('cut-type').value,
      allow_holes: $('allow-holes').checked,
    };
  }

  load(event) {
    this.event = event;
    this.ranges = (event.ranges || []).map((r) => ({
      start: parseTime(r.start), end: parseTime(r.end), transition: r.transition || null,
    }));
    if (!this.ranges.length) this.ranges.push({ start: null, end: null, transition: null });
    this.active = 0;
    this.chapters = (event.chapters || []).map((c) => ({ time: parseTime(c.time), title: c.title }));
    this.thumbnail = event.thumbnail ? { time: parseTime(event.thumbnail.time) } : null;
    $('title').value = event.title || '';
    $('description').value = event.description || '';
    $('tags').value = (event.tags || []).join(', ');
    $('category').value = event.category || '';
    $('notes').textContent = event.notes || 'none';
    $('cut-type').value = event.cut_type || 'fast';
    $('allow-holes').checked = Boolean(event.allow_holes);
    this.checkLength('title', MAX_TITLE);
    this.checkLength('description', MAX_DESCRIPTION);
    this.render();
  }
}

function button(text, title, action) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.title = title;
  b.addEventListener('click', (event) => { event.stopPropagation(); action(); });
  return b;
}
