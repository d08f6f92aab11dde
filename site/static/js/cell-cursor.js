// Pointer, tap and keyboard handling of a cell cursor over a matrix canvas,
// shared by matrix-view.js and embedding-view.js so both figures behave alike.
// The views keep their own geometry: they pass how an event maps to a cell,
// how a cell is described and how the overlay is redrawn.

/**
 * bindCellCursor(options) binds pointermove / pointerleave / click on `overlay` and
 * keydown on `stack`. options: {
 *   overlay, stack, state (its hover, cursor and n are read and written),
 *   fromEvent(event) -> {r, c} | null, cellAt(r, c) -> cell, onCell(cell | null, source),
 *   requestOverlay(), size() -> [rows, cols] (display positions),
 *   firstCell() -> {r, c}: where the first arrow key puts the cursor (default the top left),
 *   onOtherKey(event): keys the cursor does not use (the embeddings view's zoom keys),
 *   follow(cur) -> bool: after a keyboard move; true when it redrew the overlay itself
 *     (the embeddings view pans its zoomed window to keep the cursor inside)
 * }
 */
export function bindCellCursor({
  overlay, stack, state, fromEvent, cellAt, onCell, requestOverlay, size,
  firstCell = () => ({ r: 0, c: 0 }), onOtherKey = () => {}, follow = () => false,
}) {
  overlay.addEventListener("pointermove", (event) => {
    if (event.pointerType !== "mouse") return;
    const hit = fromEvent(event);
    if (!hit) return;
    if (state.hover && state.hover.r === hit.r && state.hover.c === hit.c) return;
    state.hover = hit;
    onCell(cellAt(hit.r, hit.c), "pointer");
    requestOverlay();
  });
  overlay.addEventListener("pointerleave", (event) => {
    if (event.pointerType !== "mouse") return;
    state.hover = null;
    onCell(state.cursor ? cellAt(state.cursor.r, state.cursor.c) : null, "leave");
    requestOverlay();
  });
  overlay.addEventListener("click", (event) => {
    // Tap (touch) or click pins the cursor to a cell.
    const hit = fromEvent(event);
    if (!hit) return;
    state.cursor = hit;
    onCell(cellAt(hit.r, hit.c), "tap");
    requestOverlay();
  });
  stack.addEventListener("keydown", (event) => {
    const [dr, dc] = size();
    const step = event.shiftKey ? 10 : 1;
    let cur = state.cursor ? { ...state.cursor } : null;
    // The first arrow press only shows the cursor; later ones move it.
    const start = () => cur || firstCell();
    switch (event.key) {
      case "ArrowUp": cur = start(); if (state.cursor) cur.r -= step; break;
      case "ArrowDown": cur = start(); if (state.cursor) cur.r += step; break;
      case "ArrowLeft": cur = start(); if (state.cursor) cur.c -= step; break;
      case "ArrowRight": cur = start(); if (state.cursor) cur.c += step; break;
      case "PageUp": cur = start(); cur.r -= state.n; break;
      case "PageDown": cur = start(); cur.r += state.n; break;
      case "Home": cur = start(); cur.c = 0; if (event.ctrlKey) cur.r = 0; break;
      case "End": cur = start(); cur.c = dc - 1; if (event.ctrlKey) cur.r = dr - 1; break;
      case "Escape":
        state.cursor = null; onCell(null, "keyboard"); requestOverlay(); event.preventDefault(); return;
      default: onOtherKey(event); return;
    }
    event.preventDefault();
    cur.r = Math.max(0, Math.min(dr - 1, cur.r));
    cur.c = Math.max(0, Math.min(dc - 1, cur.c));
    state.cursor = cur;
    state.hover = null;
    onCell(cellAt(cur.r, cur.c), "keyboard");
    if (!follow(cur)) requestOverlay();
  });
}
