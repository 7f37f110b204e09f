// Yielding to the page's rendering.

/** Resolves once the page has had a frame to show what it has, or after 50 ms where no frames
 * come (a background tab). Long work that can wait goes after it. */
export function afterPaint() {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 50);
    requestAnimationFrame(() => setTimeout(() => { clearTimeout(timer); resolve(); }, 0));
  });
}
