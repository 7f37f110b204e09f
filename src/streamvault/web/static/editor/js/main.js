// The editor (SPEC §13): wiring of player, timeline, edit form, events, chat and nodes.
import { NodeApi } from './api.js';
import { events, initEvents, loadEvents, showEventState, watchJob } from './events.js';
import { Player, frameRate, SPEEDS } from './player.js';
import { afterPaint } from './frames.js';
import { Timeline } from './timeline.js';
import { Edit } from './edit.js';
import { ChatPane } from './chat.js';
import { bindKeys } from './keys.js';
import { readHash, writeHash } from './state.js';
import { addSeconds, clock, parseTime, shortIso, seconds } from './time.js';

const $ = (id) => document.getElementById(id);
const LIVE_WINDOW = 600; // seconds of the past a live view loads
const MAX_WAVEFORM = 7200;
const video = $('video');
const view = { node: '', channel: null, quality: null, start: null, end: null, live: false, event: null };
let api = new NodeApi('');
let waveformTimer = null;

const player = new Player(video, {
  onError: (message) => showMessage(`Playback problem: ${message}`),
  onLoaded: () => { hideMessage(); refreshPlayhead(); },
});
const timeline = new Timeline($('timeline'), {
  onSeek: (date) => player.seekWall(date),
  onView: () => { scheduleWaveform(); saveHashSoon(); },
});
const edit = new Edit({
  player,
  onChange: () => { syncTimeline(); updateDownload(); saveHashSoon(); },
  onPreview: (date, join) => preview(date, join),
});
edit.onThumbnailUrl = (time) => api.frame(view.channel, view.quality, time);
const chat = new ChatPane($('chat-list'), $('chat-note'));

/** The chat pane follows the node and channel the video comes from. */
function chatSource() {
  const { channel } = view;
  const from = api;
  chat.setSource(channel ? `${from.base}|${channel}` : null, (start, end) => from.chat(channel, start, end));
}

function showMessage(text) { $('video-message').textContent = text; $('video-message').hidden = false; }
function hideMessage() { $('video-message').hidden = true; }
function status(text, error = false) { $('status').textContent = text; $('status').classList.toggle('error', error); }

function syncTimeline() {
  timeline.ranges = edit.ranges;
  timeline.active = edit.active;
  timeline.chapters = edit.chapters;
  timeline.draw();
}

let hashTimer = null;
/** Write the view into the link shortly: it changes in bursts (loading, zooming, seeking),
 * and each write of the address is a round trip to the browser. */
function saveHashSoon() {
  if (!hashTimer) hashTimer = setTimeout(saveHash, 150);
}

function saveHash() {
  clearTimeout(hashTimer);
  hashTimer = null;
  const state = {
    node: view.node || null, channel: view.channel, quality: view.quality,
    start: view.live ? null : view.start, end: view.live ? null : view.end,
    live: view.live ? '1' : null, event: view.event, t: player.wallTime(),
    vs: timeline.viewStart, ve: timeline.viewEnd,
  };
  const hash = writeHash(state);
  if (hash !== location.hash) history.replaceState(null, '', hash);
}

// --- nodes --------------------------------------------------------------------------------

function knownNodes() {
  try { return JSON.parse(localStorage.getItem('streamvault.nodes') || '[]'); } catch { return []; }
}

function fillNodes() {
  const select = $('node');
  select.replaceChildren(new Option(`this node (${location.host})`, ''));
  const nodes = new Set(knownNodes());
  if (view.node) nodes.add(view.node);
  for (const node of nodes) select.append(new Option(node, node));
  select.append(new Option('add a node…', '+'));
  select.value = view.node;
}

$('node').addEventListener('change', async () => {
  let chosen = $('node').value;
  if (chosen === '+') {
    chosen = (prompt('Restreamer URL of another node, e.g. http://node2:8000') || '').trim().replace(/\/$/, '');
    if (!chosen) { fillNodes(); return; }
    localStorage.setItem('streamvault.nodes', JSON.stringify([...new Set([...knownNodes(), chosen])]));
  }
  const at = player.wallTime();
  view.node = chosen;
  api = new NodeApi(chosen);
  fillNodes();
  await loadChannels();
  await loadVideo(at);
});

// --- channels, qualities and the range ----------------------------------------------------

async function loadChannels() {
  let channels = [];
  try { channels = await api.channels(); } catch (err) { status(`Node unreachable: ${err.message}`, true); }
  const select = $('channel');
  select.replaceChildren(...channels.map((c) => new Option(c, c)));
  if (!view.channel || !channels.includes(view.channel)) view.channel = channels[0] || null;
  select.value = view.channel || '';
  await loadQualities();
}

async function loadQualities() {
  let qualities = [];
  if (view.channel) {
    try { qualities = (await api.qualities(view.channel)).filter((q) => q !== 'chat'); } catch { qualities = []; }
  }
  qualities.sort((a, b) => (a === 'source' ? -1 : b === 'source' ? 1 : a.localeCompare(b)));
  const select = $('quality');
  select.replaceChildren(...qualities.map((q) => new Option(q, q)));
  if (!view.quality || !qualities.includes(view.quality)) view.quality = qualities[0] || null;
  select.value = view.quality || '';
}

$('channel').addEventListener('change', async () => { view.channel = $('channel').value; await loadQualities(); await loadVideo(); });
$('quality').addEventListener('change', async () => { const at = player.wallTime(); view.quality = $('quality').value; await loadVideo(at); });
$('load').addEventListener('click', () => {
  const start = parseTime($('range-start').value);
  const end = parseTime($('range-end').value);
  if (!start) { status('From: give a time like 2026-11-28 04:05:06 (UTC)', true); return; }
  if (end && end <= start) { status('to: must be after From', true); return; }
  view.start = start; view.end = end; view.live = !end;
  loadVideo(start);
});
$('live').addEventListener('click', () => { view.live = true; view.start = null; view.end = null; loadVideo(); });

function fillRangeInputs() {
  $('range-start').value = view.start ? shortIso(view.start) : '';
  $('range-end').value = view.live || !view.end ? '' : shortIso(view.end);
}

async function loadVideo(at = null) {
  if (!view.channel || !view.quality) { showMessage('This node holds no video yet.'); return; }
  if (view.live && !view.start) view.start = addSeconds(new Date(), -LIVE_WINDOW);
  if (!view.start) { view.live = true; view.start = addSeconds(new Date(), -LIVE_WINDOW); }
  fillRangeInputs();
  const end = view.live ? null : view.end;
  const { channel, quality } = view;
  // The timeline first: its coverage is one small request, drawn as soon as it answers,
  // while the player (hls.js, the playlist, the first segments) gets going.
  timeline.setRange(view.start, end || new Date());
  const spans = refreshSpans();
  chatSource();
  player.open((a, b) => api.playlist(channel, quality, a, b), view.start, end, { at });
  // The real frame rate (for frame stepping) arrives while the video loads.
  // (Asked of the master playlist of the player's window: a day's master costs the node far more.)
  frameRate(api.master(channel, player.windowStart, player.windowEnd), quality).then((fps) => {
    player.fps = fps;
    $('fps').textContent = `${fps} fps`;
  });
  $('to-live').hidden = !view.live;
  await spans;
  if (view.live) video.play().catch(() => {});
  saveHashSoon();
}

/** The answer index.html asked for while the modules loaded, if it is for this view (once). */
function earlySpans(start, end) {
  const early = window.earlySpans;
  window.earlySpans = null;
  if (!early || view.node || early.channel !== view.channel || early.quality !== view.quality) return null;
  const [a, b] = [parseTime(early.start), parseTime(early.end)];
  return a && b && +a === +start && +b === +end ? early.answer : null;
}

async function refreshSpans() {
  const end = view.live ? new Date() : view.end;
  try {
    const early = earlySpans(view.start, end);
    const body = (early && await early) || await api.spans(view.channel, view.quality, view.start, end);
    timeline.spans = body.spans.map((s) => ({ start: parseTime(s.start), end: parseTime(s.end), kind: s.kind }));
  } catch (err) {
    timeline.spans = [];
    status(`Coverage unavailable: ${err.message}`, true);
  }
  if (view.live) timeline.setRange(view.start, end);
  else timeline.draw();
  scheduleWaveform();
}

function scheduleWaveform() {
  clearTimeout(waveformTimer);
  waveformTimer = setTimeout(loadWaveform, 250);
}

function loadWaveform() {
  if (!timeline.viewStart || !view.channel) return;
  const start = new Date(Math.max(timeline.viewStart, timeline.start));
  const end = new Date(Math.min(timeline.viewEnd, timeline.end));
  if (seconds(start, end) > MAX_WAVEFORM || end <= start) {
    timeline.waveform = null;
    timeline.waveformNote = 'waveform: zoom in to 2 h or less';
    timeline.draw();
    return;
  }
  const width = Math.max(1, Math.min(4096, Math.round(timeline.x(end) - timeline.x(start))));
  timeline.waveformNote = 'waveform: loading…';
  const image = new Image();
  image.onload = () => { timeline.waveform = { image, start, end }; timeline.draw(); };
  image.onerror = () => { timeline.waveform = null; timeline.waveformNote = 'no audio in this part'; timeline.draw(); };
  image.src = api.waveform(view.channel, view.quality, start, end, width, 48);
}

// --- player controls ----------------------------------------------------------------------

function speed() { return Number($('speed').value); }
function setSpeed(value) { $('speed').value = String(value); player.setSpeed(value); }
$('speed').addEventListener('change', () => player.setSpeed(speed()));
$('play').addEventListener('click', () => player.toggle());
$('to-live').addEventListener('click', () => player.goLive());
for (const b of document.querySelectorAll('[data-seek]')) b.addEventListener('click', () => player.seekBy(Number(b.dataset.seek)));
for (const b of document.querySelectorAll('[data-frame]')) b.addEventListener('click', () => player.step(Number(b.dataset.frame)));
for (const b of document.querySelectorAll('[data-zoom]')) {
  b.addEventListener('click', () => timeline.zoomTo(b.dataset.zoom === 'fit' ? 'fit' : Number(b.dataset.zoom)));
}
video.addEventListener('play', () => { $('play').textContent = '❚❚'; });
video.addEventListener('pause', () => { $('play').textContent = '▶'; });
video.addEventListener('ratechange', () => { if (SPEEDS.includes(video.playbackRate)) $('speed').value = String(video.playbackRate); });

let joining = null;
function preview(date, join = null) {
  joining = join;
  player.seekWall(date);
  video.play().catch(() => {});
}

function refreshPlayhead() {
  const now = player.wallTime();
  if (now) {
    $('clock').textContent = `${shortIso(now).slice(0, 10)} ${clock(now)} UTC`;
    timeline.playhead = now;
    chat.show(now);
    const viewMs = timeline.viewEnd - timeline.viewStart;
    if (!video.paused && (now > timeline.viewEnd || now < timeline.viewStart) && viewMs < (timeline.end - timeline.start)) {
      timeline.setView(new Date(now.getTime() - viewMs * 0.1), new Date(now.getTime() + viewMs * 0.9));
    }
    timeline.draw();
    if (joining && now >= joining.joinAt) {
      const join = joining;
      joining = null;
      const fade = join.transition ? join.transition.duration : 0;
      if (fade) {
        video.style.transition = `opacity ${fade / 2}s`;
        video.style.opacity = '0.15';
        setTimeout(() => { player.seekWall(join.next); video.style.opacity = '1'; }, (fade / 2) * 1000);
      } else {
        player.seekWall(join.next);
      }
    }
  }
}
video.addEventListener('timeupdate', refreshPlayhead);
video.addEventListener('seeked', () => { refreshPlayhead(); saveHashSoon(); });
setInterval(() => { if (!video.paused) saveHashSoon(); }, 2000);
setInterval(() => { if (view.live && view.channel) refreshSpans(); }, 10000);

// --- events -------------------------------------------------------------------------------

async function openEvent(id) {
  let event;
  try { event = await events.get(id); } catch (err) { status(`Could not open the event: ${err.message}`, true); return; }
  view.event = event.id;
  edit.load(event);
  showEventState(event);
  if (event.channel !== view.channel || event.quality !== view.quality) {
    view.channel = event.channel;
    $('channel').value = event.channel;
    await loadQualities();
    view.quality = event.quality;
    $('quality').value = event.quality;
  }
  const ranges = edit.completeRanges();
  if (ranges.length) {
    view.live = false;
    view.start = addSeconds(new Date(Math.min(...ranges.map((r) => r.start))), -30);
    view.end = addSeconds(new Date(Math.max(...ranges.map((r) => r.end))), 30);
    await loadVideo(ranges[0].start);
  }
  loadEvents();
  watchJob(event);
}


// --- downloads and links ------------------------------------------------------------------

function updateDownload() {
  const link = $('download-link');
  const ranges = edit.completeRanges();
  if (!ranges.length || !view.channel) { link.removeAttribute('href'); link.textContent = 'mark a range first'; return; }
  link.href = api.cut(view.channel, view.quality, ranges, $('download-type').value, $('allow-holes').checked);
  link.textContent = `cut of ${ranges.length} range(s)`;
}
$('download-type').addEventListener('change', updateDownload);
$('allow-holes').addEventListener('change', updateDownload);
$('copy-link').addEventListener('click', async () => {
  saveHash();
  try { await navigator.clipboard.writeText(location.href); status('Link copied: it reopens this view.'); } catch { status(`Link: ${location.href}`); }
});

// --- start --------------------------------------------------------------------------------

async function start() {
  const state = readHash();
  Object.assign(view, {
    node: state.node || '', channel: state.channel || null, quality: state.quality || null,
    start: state.start || null, end: state.end || null, live: state.live === '1' || (!state.end && !!state.start) || !state.start,
    event: state.event || null,
  });
  if (view.end && view.start) view.live = false;
  api = new NodeApi(view.node);
  const setUp = () => {
    fillNodes();
    bindKeys({ player, edit, timeline, setSpeed, speed });
    initEvents({ edit, view, status, openEvent, saveHash: saveHashSoon });
    edit.render();
  };
  // A link that names its channel and quality plays at once; the lists fill in meanwhile.
  const named = view.channel && view.quality;
  const lists = loadChannels();
  if (!named) await lists;
  const wanted = [view.channel, view.quality].join('/');
  if (view.event) {
    setUp();
    await openEvent(view.event);
  } else {
    // The video and its timeline first; the rest of the page is set up once the timeline
    // has been drawn (when its coverage is at hand already: see earlySpans).
    const video = loadVideo(state.t || (view.live ? null : view.start));
    await afterPaint();
    setUp();
    await video;
  }
  await lists;
  if (named && [view.channel, view.quality].join('/') !== wanted) await loadVideo();
  if (state.vs && state.ve) timeline.setView(state.vs, state.ve);
  loadEvents();
  document.body.dataset.ready = '1';
  window.editor = { player, timeline, edit, view, chat }; // for scripts and the browser tests
}

start();
