// Virtual-row math for the log view: which rows to render for a scroll position.

export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  count: number;
  /** Extra rows rendered below the viewport. */
  overscan: number;
}

export interface RowWindow {
  /** First row index to render (inclusive). */
  start: number;
  /** Last row index to render (exclusive). */
  end: number;
  /** Vertical offset of the first row inside the viewport (≤ 0). */
  offsetY: number;
  /** Rows are laid out from the bottom (the view is at the end). */
  bottomAligned: boolean;
}

/** Height of the scrollable content for `count` rows. */
export function contentHeight(count: number, rowHeight: number): number {
  return count * rowHeight;
}

/** True when the scroll position is at the end (within `tolerance` px). */
export function isAtBottom(scrollTop: number, viewportHeight: number, scrollHeight: number, tolerance = 4): boolean {
  return scrollTop + viewportHeight >= scrollHeight - tolerance;
}

/** The rows to draw. At the end, the last rows are drawn bottom-aligned so wrapped rows still show the newest line. */
export function computeWindow(w: WindowInput): RowWindow {
  const { rowHeight, count, viewportHeight } = w;
  const visible = Math.max(1, Math.ceil(viewportHeight / rowHeight));
  if (count === 0) return { start: 0, end: 0, offsetY: 0, bottomAligned: false };
  const maxTop = Math.max(0, count * rowHeight - viewportHeight);
  const scrollTop = Math.min(Math.max(0, w.scrollTop), maxTop);
  if (count * rowHeight > viewportHeight && scrollTop >= maxTop - 1) {
    const end = count;
    const start = Math.max(0, end - visible - w.overscan);
    return { start, end, offsetY: 0, bottomAligned: true };
  }
  const start = Math.min(count - 1, Math.floor(scrollTop / rowHeight));
  const end = Math.min(count, start + visible + 1 + w.overscan);
  return { start, end, offsetY: -(scrollTop - start * rowHeight), bottomAligned: false };
}

/** scrollTop that puts row `index` in the middle of the viewport. */
export function scrollTopFor(index: number, rowHeight: number, viewportHeight: number, count: number): number {
  const maxTop = Math.max(0, count * rowHeight - viewportHeight);
  const t = index * rowHeight - Math.floor(viewportHeight / 2) + rowHeight;
  return Math.min(maxTop, Math.max(0, t));
}
