// The keyboard set of SPEC §13. Keys are ignored while typing in a field.
import { SPEEDS } from './player.js';

export function bindKeys({ player, edit, timeline, setSpeed, speed }) {
  document.addEventListener('keydown', (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement
        || target instanceof HTMLSelectElement || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const actions = {
      ' ': () => player.toggle(),
      k: () => player.toggle(),
      j: () => player.seekBy(-10),
      l: () => player.seekBy(10),
      J: () => player.seekBy(-1),
      L: () => player.seekBy(1),
      ArrowLeft: () => player.seekBy(-5),
      ArrowRight: () => player.seekBy(5),
      ',': () => player.step(-1),
      '.': () => player.step(1),
      '[': () => edit.mark('start'),
      ']': () => edit.mark('end'),
      '=': () => setSpeed(SPEEDS[Math.min(SPEEDS.length - 1, SPEEDS.indexOf(speed()) + 1)]),
      '+': () => setSpeed(SPEEDS[Math.min(SPEEDS.length - 1, SPEEDS.indexOf(speed()) + 1)]),
      '-': () => setSpeed(SPEEDS[Math.max(0, SPEEDS.indexOf(speed()) - 1)]),
    };
    let action = actions[key];
    if (!action && /^[0-9]$/.test(key)) {
      action = () => {
        const fraction = Number(key) / 10;
        const a = timeline.start.getTime();
        const b = timeline.end.getTime();
        player.seekWall(new Date(a + fraction * (b - a)));
      };
    }
    if (!action) return;
    event.preventDefault();
    action();
  });
}
