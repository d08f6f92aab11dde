// The similarity-matrix view of a result that ships embeddings (embedding-source.js)
// instead of a kN x kN matrix. Same element structure, options and keyboard as
// matrix-view.js, so the figures and their styles treat both alike; what differs
// is where the numbers come from:
// - the picture is the exact average-pooled matrix at the canvas's pixel size
//   (block means' products, in the worker);
// - zooming (buttons, + and - keys, double-click) shows a window of the matrix;
//   once the window has no more rows than the canvas has pixels, its cells are
//   computed at full resolution;
// - a hover is one dot product on the main thread;
// - setFraction(f) applies the close-the-gap slider's shift to the embeddings.

import { el } from "./dom.js";
import { colorLUT, withAlpha } from "./theme.js";
import { bindCellCursor } from "./cell-cursor.js";
import { matrixParts, drawColorbar, displayIndex, placeQuadrantLabels, fitSize, drawCellCross, oncePerFrame } from "./matrix-parts.js";

/**
 * createEmbeddingView(options) -> view with createMatrixView's methods plus setFraction, zoom,
 * resetZoom and valueAt. options: as createMatrixView's, with `source` (openEmbeddings())
 * instead of `matrix`, `range` [lo, hi] (the colour scale; required: no matrix to take it from)
 * and `fraction` (closing fraction, default 0).
 */
export function createEmbeddingView(options) {
  const state = {
    source: options.source,
    n: options.n,
    modalities: options.modalities,
    order: options.order || null,
    clusters: options.clusters || [],
    colors: options.colors,
    scale: options.scale || "viridis",
    range: options.range,
    quadrant: options.quadrant || "all",
    sorted: !!options.sorted,
    fraction: options.fraction || 0,
    hover: null,
    cursor: null,
    highlight: [],
    cross: null,
    size: 0,
    view: null, // {r0, c0, span}: the window shown, in display positions; null = everything
  };
  const onCell = options.onCell || (() => {});
  const maxSize = options.maxSize || 560;
  const minSize = options.minSize || 160;
  const COARSE_MIN = 64; // canvases of at least 4 x this many pixels get a quarter-resolution picture first

  const parts = matrixParts(options.label, "plus and minus zoom in and out around the cursor, 0 shows everything; Escape clears.");
  const { base, overlay, stack, topLabels, leftLabels, barCanvas, bar } = parts;
  const zoomIn = el("button", { type: "button", class: "fig-zoom-in", text: "Zoom in" });
  const zoomOut = el("button", { type: "button", class: "fig-zoom-out", text: "Zoom out" });
  const zoomAll = el("button", { type: "button", class: "fig-zoom-reset", text: "Show all" });
  const zoomNote = el("span", { class: "fig-zoom-note", attrs: { "aria-live": "polite" } });
  const toolbar = el("div", { class: "fig-matrix-zoom fig-controls" }, [zoomIn, zoomOut, zoomAll, zoomNote]);
  const element = el("div", { class: "fig-matrix fig-matrix-embeddings" }, [
    el("div", { class: "fig-matrix-corner" }), topLabels, el("div", { class: "fig-matrix-spacer" }), leftLabels, stack, bar, toolbar,
  ]);

  let rowIdx = null, colIdx = null, rowPos = null, colPos = null;
  let drawnColumns = null; // the final picture's columns: see columns() below
  let lut = null;
  let drawToken = 0;
  let drawn = Promise.resolve();
  const offscreen = document.createElement("canvas");

  const k = () => state.modalities.length;
  const span = () => (state.view ? state.view.span : rowIdx.length);
  const origin = () => (state.view ? [state.view.r0, state.view.c0] : [0, 0]);

  function buildIndex() {
    ({ rowIdx, colIdx, rowPos, colPos } = displayIndex(state));
  }

  function buildLUT() {
    lut = colorLUT(state.scale);
    const [lo, hi] = state.range;
    drawColorbar(parts, state.scale, lo, hi);
  }

  function layoutSize() { return fitSize(element, minSize, maxSize); }

  function pixelCount() {
    return Math.max(1, Math.round(state.size * (window.devicePixelRatio || 1)));
  }

  let firstPaint = null; // resolves when the current draw has put its first picture on the canvas

  /**
   * Compute the window's picture in the worker and paint it; resolves once the final picture is
   * painted (or a newer draw superseded it). A pooled picture comes in two passes: a quarter of
   * the canvas's resolution first (a sixteenth of the products), then every pixel.
   */
  function drawBase() {
    let signal;
    firstPaint = new Promise((resolve) => { signal = resolve; });
    return paintLevels(++drawToken, signal).finally(signal);
  }

  async function paintLevels(mine, signalFirst) {
    const pixels = pixelCount();
    const count = span();
    const [r0, c0] = origin();
    const rows = rowIdx.subarray(r0, r0 + count);
    const cols = colIdx === rowIdx && r0 === c0 ? rows : colIdx.subarray(c0, c0 + count);
    const full = count <= pixels;
    const levels = full ? [count] : (pixels >= 4 * COARSE_MIN ? [Math.ceil(pixels / 4), pixels] : [pixels]);
    element.setAttribute("aria-busy", "true");
    for (const blocks of levels) {
      let values, side, colBounds = null;
      try {
        if (full) {
          values = await state.source.tile(rows, cols, state.fraction);
          side = count;
        } else {
          const pooled = await state.source.pooled(rows, cols, blocks, state.fraction);
          ({ values, colBounds } = pooled);
          side = pooled.rows;
        }
      } catch (error) {
        if (mine === drawToken) {
          element.removeAttribute("aria-busy");
          zoomNote.textContent = `Could not compute the matrix: ${error.message}`;
        }
        throw error;
      }
      if (mine !== drawToken) return; // a newer draw replaced this one
      const final = blocks === levels[levels.length - 1];
      paint(values, side, pixels, { resolution: full ? "full" : "pooled", final, r0, c0, count });
      if (final) {
        drawnColumns = { index: cols, bounds: colBounds };
        element.dispatchEvent(new Event("matrixdrawn"));
      }
      signalFirst();
    }
    element.removeAttribute("aria-busy");
  }

  function paint(values, side, pixels, { resolution, final, r0, c0, count }) {
    const [lo, hi] = state.range;
    const span01 = hi - lo || 1;
    const image = new ImageData(side, side);
    const px = new Uint32Array(image.data.buffer);
    for (let i = 0; i < values.length; i++) {
      px[i] = lut[Math.max(0, Math.min(255, Math.round(((values[i] - lo) / span01) * 255)))];
    }
    offscreen.width = side; offscreen.height = side;
    offscreen.getContext("2d").putImageData(image, 0, 0);
    base.width = pixels; base.height = pixels;
    const ctx = base.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(offscreen, 0, 0, pixels, pixels);
    // What is on the canvas, for readers of the page's state (tests, the bench).
    element.matrixDrawn = { resolution, final, side, r0, c0, span: count, fraction: state.fraction, values, at: performance.now() };
    element.dataset.resolution = resolution;
    element.dataset.window = `${r0},${c0},${count}`;
    const total = rowIdx.length;
    zoomNote.textContent = state.view
      ? `rows ${r0 + 1}–${r0 + count}, columns ${c0 + 1}–${c0 + count} of ${total}${resolution === "full" ? ", every cell" : `, averaged into ${side} × ${side}`}`
      : (resolution === "full" ? "" : `${total} × ${total} cells averaged into ${side} × ${side}; zoom in for single cells`);
    zoomOut.disabled = zoomAll.disabled = !state.view;
    zoomIn.disabled = count <= 8;
  }

  function placeLabels() {
    if (state.view) { // a window: the note under the matrix says which rows and columns
      topLabels.replaceChildren();
      leftLabels.replaceChildren();
      return;
    }
    placeQuadrantLabels(topLabels, leftLabels, state.modalities, state.quadrant, state.size);
  }

  // Display position (whole matrix) -> css px inside the window.
  const toY = (r) => ((r - origin()[0]) * state.size) / span();
  const toX = (c) => ((c - origin()[1]) * state.size) / span();

  function drawOverlay() {
    const size = state.size;
    const dpr = window.devicePixelRatio || 1;
    const pixels = Math.round(size * dpr);
    if (overlay.width !== pixels) { overlay.width = pixels; overlay.height = pixels; }
    const ctx = overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size, size);
    const n = state.n;
    const cell = size / span();
    const fg = state.colors.dark ? "#ffffff" : "#000000";
    if (state.quadrant === "all") {
      ctx.strokeStyle = state.colors.bg;
      ctx.lineWidth = 2;
      for (let m = 1; m < k(); m++) {
        const y = toY(m * n), x = toX(m * n);
        ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(size, y); ctx.moveTo(x, 0); ctx.lineTo(x, size); ctx.stroke();
      }
    }
    if (state.sorted && state.clusters.length) {
      const blocks = state.quadrant === "all" ? k() : 1;
      ctx.lineWidth = 1;
      ctx.strokeStyle = "rgba(255,255,255,0.85)";
      for (let qa = 0; qa < blocks; qa++) {
        for (let qb = 0; qb < blocks; qb++) {
          for (const cluster of state.clusters) {
            const y = toY(qa * n + cluster.start), x = toX(qb * n + cluster.start);
            const w = cluster.size * cell;
            ctx.strokeRect(x + 0.5, y + 0.5, Math.max(1, w - 1), Math.max(1, w - 1));
          }
        }
      }
    }
    for (const index of state.highlight) {
      const r = rowPos[index], c = colPos[index];
      ctx.fillStyle = withAlpha(state.colors.accent, 0.35);
      if (r >= 0) ctx.fillRect(0, toY(r), size, Math.max(1.5, cell));
      if (c >= 0) ctx.fillRect(toX(c), 0, Math.max(1.5, cell), size);
    }
    if (state.cross) {
      const r = rowPos[state.cross.row], c = colPos[state.cross.col];
      if (r >= 0 && c >= 0) drawCross(ctx, r, c, fg, size, cell);
    }
    const active = state.hover || state.cursor;
    if (active) drawCross(ctx, active.r, active.c, fg, size, cell);
  }

  function drawCross(ctx, r, c, fg, size, cell) {
    const w = Math.max(cell, 1);
    drawCellCross(ctx, [toX(c), toY(r), w, w], size, fg, state.colors.dark);
  }

  const requestOverlay = oncePerFrame(drawOverlay);

  function valueAt(row, col) { return state.source.value(row, col, state.fraction); }

  function cellAt(r, c) {
    const row = rowIdx[r], col = colIdx[c];
    return { r, c, row, col, value: valueAt(row, col) };
  }

  function fromEvent(event) {
    const rect = overlay.getBoundingClientRect();
    const x = event.clientX - rect.left, y = event.clientY - rect.top;
    if (x < 0 || y < 0 || x >= rect.width || y >= rect.height) return null;
    const [r0, c0] = origin();
    const r = Math.min(rowIdx.length - 1, r0 + Math.floor((y / rect.height) * span()));
    const c = Math.min(colIdx.length - 1, c0 + Math.floor((x / rect.width) * span()));
    return { r, c };
  }

  /** Show `count` rows and columns around display position (r, c); count >= all shows everything. */
  function zoomTo(r, c, count) {
    const total = rowIdx.length;
    const size = Math.max(8, Math.min(total, Math.round(count)));
    if (size >= total) {
      state.view = null;
    } else {
      const clamp = (v) => Math.max(0, Math.min(total - size, Math.round(v - size / 2)));
      state.view = { r0: clamp(r), c0: clamp(c), span: size };
    }
    placeLabels();
    drawOverlay();
    drawn = drawBase().catch((error) => console.error(error));
    return drawn;
  }

  function zoomBy(factor, at) {
    const [r0, c0] = origin();
    const centre = at || state.cursor || { r: r0 + span() / 2, c: c0 + span() / 2 };
    return zoomTo(centre.r, centre.c, span() / factor);
  }

  /** Keep the cursor inside the window (panning by whole windows' halves). */
  function follow(cur) {
    if (!state.view) return false;
    const { r0, c0, span: s } = state.view;
    if (cur.r >= r0 && cur.r < r0 + s && cur.c >= c0 && cur.c < c0 + s) return false;
    zoomTo(cur.r >= r0 && cur.r < r0 + s ? r0 + s / 2 : cur.r, cur.c >= c0 && cur.c < c0 + s ? c0 + s / 2 : cur.c, s);
    return true;
  }

  bindCellCursor({
    overlay, stack, state, fromEvent, cellAt, onCell, requestOverlay,
    size: () => [rowIdx.length, colIdx.length],
    // The first arrow press shows the cursor at the zoomed window's top left.
    firstCell: () => ({ r: origin()[0], c: origin()[1] }),
    onOtherKey(event) {
      switch (event.key) {
        case "+": case "=": event.preventDefault(); zoomBy(4); return;
        case "-": event.preventDefault(); zoomBy(1 / 4); return;
        case "0": event.preventDefault(); zoomTo(0, 0, Infinity); return;
        default: return;
      }
    },
    follow,
  });
  overlay.addEventListener("dblclick", (event) => {
    const hit = fromEvent(event);
    if (hit) zoomBy(4, hit);
  });
  zoomIn.addEventListener("click", () => zoomBy(4));
  zoomOut.addEventListener("click", () => zoomBy(1 / 4));
  zoomAll.addEventListener("click", () => zoomTo(0, 0, Infinity));

  function redraw({ full = true } = {}) {
    state.size = layoutSize();
    for (const c of [base, overlay]) { c.style.width = `${state.size}px`; c.style.height = `${state.size}px`; }
    stack.style.width = `${state.size}px`; stack.style.height = `${state.size}px`;
    barCanvas.style.height = `${Math.max(80, state.size - 40)}px`;
    if (full) { buildIndex(); buildLUT(); state.view = null; }
    placeLabels();
    drawOverlay();
    drawn = drawBase().catch((error) => console.error(error));
    return firstPaint;
  }

  let lastWidth = 0;
  const resizeObserver = new ResizeObserver(() => {
    const width = element.parentElement ? element.parentElement.clientWidth : 0;
    if (!width || width === lastWidth) return;
    lastWidth = width;
    if (layoutSize() !== state.size && rowIdx) redraw({ full: false });
  });

  const reset = () => { state.hover = null; state.cursor = null; };
  return {
    element,
    stack,
    /** Call once the element is in the document; resolves when the first picture is on the canvas. */
    draw() {
      const first = redraw();
      if (element.parentElement) { lastWidth = element.parentElement.clientWidth; resizeObserver.observe(element.parentElement); }
      return first;
    },
    setQuadrant(q) { state.quadrant = q; reset(); return redraw(); },
    setSorted(sorted) { state.sorted = sorted; reset(); return redraw(); },
    /** The close-the-gap slider: redraw (same window) with the step's shift; the cursor's value follows. */
    setFraction(fraction, range) {
      state.fraction = fraction;
      if (range) { state.range = range; buildLUT(); }
      drawn = drawBase().catch((error) => console.error(error));
      if (state.cursor) onCell(cellAt(state.cursor.r, state.cursor.c), "update");
      return drawn;
    },
    setRange(range) { state.range = range; buildLUT(); drawn = drawBase().catch((e) => console.error(e)); return drawn; },
    setColors(colors) { state.colors = colors; drawOverlay(); },
    setScale(scale) { state.scale = scale; buildLUT(); drawn = drawBase().catch((e) => console.error(e)); return drawn; },
    highlightItems(indices) { state.highlight = indices || []; requestOverlay(); },
    setCrosshair(cross) { state.cross = cross; requestOverlay(); },
    zoom: zoomBy,
    zoomTo,
    resetZoom: () => zoomTo(0, 0, Infinity),
    cellAt,
    valueAt,
    /**
     * The columns of the picture on the canvas (set with its final pass, which fires "matrixdrawn"):
     * index, the stacked items shown left to right; bounds, null when each is one column, else
     * the runs of index pooled into each column (embedding-matrix.js, blockMeans).
     */
    columns() { return drawnColumns; },
    /** The promise of the picture being computed (resolves once its final pass is on the canvas). */
    get drawn() { return drawn; },
    get cursor() { return state.cursor; },
    get state() { return state; },
    destroy() { resizeObserver.disconnect(); },
  };
}
