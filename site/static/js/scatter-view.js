// A 2-D projection drawn into a canvas: points coloured by modality, thin
// lines joining the items of each pair, nearest-point hover through a grid
// index, tap and keyboard selection, linked highlights. Canvas (not WebGL) so
// a page can hold many of them.

import { el, canvasStack } from "./dom.js";
import { modalityColor, withAlpha } from "./theme.js";

const reduceMotion = () => window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

/**
 * createScatterView(options) -> view
 * options: {points: Float32Array of kN*2 (stacked order), n, modalities, colors,
 *   lines (bool), label, axes: [xTitle, yTitle], maxWidth, aspect (h/w),
 *   frame (Float32Array: fit the view to these points instead of the shown ones),
 *   onPoint(index | null, source)}
 */
export function createScatterView(options) {
  const state = {
    points: options.points,
    shown: options.points,
    n: options.n,
    modalities: options.modalities,
    colors: options.colors,
    lines: options.lines !== false,
    hover: null,
    cursor: null,
    highlight: [],
    width: 0, height: 0,
    screen: null, // Float32Array of css-pixel positions
    frame: options.frame || null, // points whose bounds fix the view (e.g. all training snapshots)
  };
  const onPoint = options.onPoint || (() => {});
  const maxWidth = options.maxWidth || 560;
  const aspect = options.aspect || 0.8;
  const { base, overlay, stack } = canvasStack("fig-scatter", "scatter plot",
    `${options.label || "Projection"}. Left and right arrow keys step through the items; up and down jump to the paired item; Escape clears.`);
  const xTitle = el("span", { class: "fig-axis-x" });
  const yTitle = el("span", { class: "fig-axis-y" });
  const legend = el("div", { class: "fig-legend" });
  const element = el("div", { class: "fig-scatter" }, [el("div", { class: "fig-scatter-plot" }, [yTitle, stack]), xTitle, legend]);

  const GRID = 16;
  let grid = null, gridCols = 0, gridRows = 0;

  function count() { return state.points.length / 2; }

  function setAxes(axes) {
    xTitle.textContent = axes ? axes[0] : "";
    yTitle.textContent = axes ? axes[1] : "";
  }
  setAxes(options.axes);

  function buildLegend() {
    legend.replaceChildren();
    state.modalities.forEach((name, m) => {
      const swatch = el("span", { class: "fig-swatch", attrs: { style: `background:${modalityColor(state.colors, m, name)}` } });
      legend.append(el("span", { class: "fig-legend-item" }, [swatch, el("span", { text: name })]));
    });
    if (state.lines) {
      legend.append(el("span", { class: "fig-legend-item" }, [el("span", { class: "fig-swatch fig-swatch-line", attrs: { style: `background:${state.colors.muted}` } }), el("span", { text: "matched pair" })]));
    }
  }

  // Fixed data -> screen transform for the current point set (equal aspect).
  let transform = null;
  function fit(points) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < points.length; i += 2) {
      const x = points[i], y = points[i + 1];
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    const pad = 10;
    const w = state.width - 2 * pad, h = state.height - 2 * pad;
    const sx = w / ((x1 - x0) || 1), sy = h / ((y1 - y0) || 1);
    const s = Math.min(sx, sy);
    const ox = pad + (w - s * (x1 - x0)) / 2, oy = pad + (h - s * (y1 - y0)) / 2;
    return { s, ox, oy, x0, y1 };
  }

  function toScreen(points) {
    const t = transform;
    const out = new Float32Array(points.length);
    for (let i = 0; i < points.length; i += 2) {
      out[i] = t.ox + (points[i] - t.x0) * t.s;
      out[i + 1] = t.oy + (t.y1 - points[i + 1]) * t.s;
    }
    return out;
  }

  function buildGrid() {
    gridCols = Math.ceil(state.width / GRID) + 1;
    gridRows = Math.ceil(state.height / GRID) + 1;
    const cells = new Array(gridCols * gridRows);
    const s = state.screen;
    for (let i = 0; i < s.length / 2; i++) {
      const gx = Math.max(0, Math.min(gridCols - 1, Math.floor(s[2 * i] / GRID)));
      const gy = Math.max(0, Math.min(gridRows - 1, Math.floor(s[2 * i + 1] / GRID)));
      const key = gy * gridCols + gx;
      (cells[key] || (cells[key] = [])).push(i);
    }
    grid = cells;
  }

  function nearest(x, y, radius = 14) {
    const gx = Math.floor(x / GRID), gy = Math.floor(y / GRID);
    const reach = Math.ceil(radius / GRID);
    let best = -1, bestD = radius * radius;
    const s = state.screen;
    for (let yy = gy - reach; yy <= gy + reach; yy++) {
      if (yy < 0 || yy >= gridRows) continue;
      for (let xx = gx - reach; xx <= gx + reach; xx++) {
        if (xx < 0 || xx >= gridCols) continue;
        const cell = grid[yy * gridCols + xx];
        if (!cell) continue;
        for (const i of cell) {
          const dx = s[2 * i] - x, dy = s[2 * i + 1] - y;
          const d = dx * dx + dy * dy;
          if (d <= bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  function pointRadius() {
    const total = count();
    return total > 4000 ? 1.6 : total > 1000 ? 2.2 : total > 200 ? 3 : 4;
  }

  function drawBase() {
    const dpr = window.devicePixelRatio || 1;
    base.width = Math.round(state.width * dpr); base.height = Math.round(state.height * dpr);
    const ctx = base.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, state.width, state.height);
    const s = state.screen;
    const n = state.n, k = state.modalities.length;
    if (state.lines && k > 1) {
      ctx.strokeStyle = withAlpha(state.colors.muted, count() > 2000 ? 0.18 : 0.35);
      ctx.lineWidth = 0.6;
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        for (let m = 1; m < k; m++) {
          const a = i, b = m * n + i;
          ctx.moveTo(s[2 * a], s[2 * a + 1]);
          ctx.lineTo(s[2 * b], s[2 * b + 1]);
        }
      }
      ctx.stroke();
    }
    const r = pointRadius();
    for (let m = 0; m < k; m++) {
      ctx.fillStyle = withAlpha(modalityColor(state.colors, m, state.modalities[m]), 0.85);
      ctx.beginPath();
      for (let i = m * n; i < (m + 1) * n; i++) {
        ctx.moveTo(s[2 * i] + r, s[2 * i + 1]);
        ctx.arc(s[2 * i], s[2 * i + 1], r, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
  }

  function ring(ctx, i, radius, color, width) {
    const s = state.screen;
    ctx.strokeStyle = color; ctx.lineWidth = width;
    ctx.beginPath(); ctx.arc(s[2 * i], s[2 * i + 1], radius, 0, 2 * Math.PI); ctx.stroke();
  }

  function drawOverlay() {
    const dpr = window.devicePixelRatio || 1;
    if (overlay.width !== Math.round(state.width * dpr)) { overlay.width = Math.round(state.width * dpr); overlay.height = Math.round(state.height * dpr); }
    const ctx = overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, state.width, state.height);
    const s = state.screen;
    const fg = state.colors.fg;
    const marks = [...state.highlight];
    const active = state.hover ?? state.cursor;
    for (const i of marks) ring(ctx, i, pointRadius() + 4, state.colors.accent, 2);
    if (active !== null && active !== undefined) {
      const n = state.n, k = state.modalities.length, p = active % n;
      ctx.strokeStyle = fg; ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let m = 1; m < k; m++) { ctx.moveTo(s[2 * p], s[2 * p + 1]); ctx.lineTo(s[2 * (m * n + p)], s[2 * (m * n + p) + 1]); }
      ctx.stroke();
      for (let m = 0; m < k; m++) ring(ctx, m * n + p, pointRadius() + 3, withAlpha(fg, 0.6), 1.5);
      ring(ctx, active, pointRadius() + 5, fg, 2.5);
    }
  }

  let overlayPending = false;
  function requestOverlay() {
    if (overlayPending) return;
    overlayPending = true;
    requestAnimationFrame(() => { overlayPending = false; drawOverlay(); });
  }

  function layout() {
    const available = element.parentElement ? element.parentElement.clientWidth - 24 : maxWidth;
    state.width = Math.max(160, Math.min(maxWidth, Math.floor(available || maxWidth)));
    state.height = Math.round(state.width * aspect);
    for (const c of [base, overlay]) { c.style.width = `${state.width}px`; c.style.height = `${state.height}px`; }
    stack.style.width = `${state.width}px`; stack.style.height = `${state.height}px`;
  }

  function redraw() {
    layout();
    transform = fit(state.frame || state.points);
    state.screen = toScreen(state.shown);
    buildGrid();
    drawBase();
    drawOverlay();
  }

  function eventPoint(event) {
    const rect = overlay.getBoundingClientRect();
    return nearest(event.clientX - rect.left, event.clientY - rect.top);
  }

  overlay.addEventListener("pointermove", (event) => {
    if (event.pointerType !== "mouse") return;
    const i = eventPoint(event);
    const next = i >= 0 ? i : null;
    if (next === state.hover) return;
    state.hover = next;
    onPoint(next ?? state.cursor, "pointer");
    requestOverlay();
  });
  overlay.addEventListener("pointerleave", (event) => {
    if (event.pointerType !== "mouse") return;
    state.hover = null;
    onPoint(state.cursor, "leave");
    requestOverlay();
  });
  overlay.addEventListener("click", (event) => {
    const i = eventPoint(event);
    state.cursor = i >= 0 ? i : null;
    onPoint(state.cursor, "tap");
    requestOverlay();
  });
  stack.addEventListener("keydown", (event) => {
    const total = count(), n = state.n;
    const step = event.shiftKey ? 10 : 1;
    let cur = state.cursor;
    switch (event.key) {
      case "ArrowRight": cur = cur === null ? 0 : (cur + step) % total; break;
      case "ArrowLeft": cur = cur === null ? 0 : (cur - step + total * 10) % total; break;
      case "ArrowUp": case "ArrowDown": cur = cur === null ? 0 : (cur + (event.key === "ArrowDown" ? n : total - n)) % total; break;
      case "Home": cur = 0; break;
      case "End": cur = total - 1; break;
      case "Escape": cur = null; break;
      default: return;
    }
    event.preventDefault();
    state.cursor = cur;
    state.hover = null;
    onPoint(cur, "keyboard");
    requestOverlay();
  });

  let animation = null;
  function animateTo(points) {
    const from = state.screen;
    state.points = points;
    transform = fit(state.frame || points);
    const to = toScreen(points);
    if (animation) cancelAnimationFrame(animation);
    if (reduceMotion() || !from || from.length !== to.length) {
      state.screen = to; state.shown = points; buildGrid(); drawBase(); drawOverlay();
      return;
    }
    const t0 = performance.now(), duration = 350;
    const tmp = new Float32Array(to.length);
    const frame = (now) => {
      const t = Math.min(1, (now - t0) / duration);
      const e = t < 0.5 ? 2 * t * t : 1 - Math.pow(-2 * t + 2, 2) / 2;
      for (let i = 0; i < to.length; i++) tmp[i] = from[i] + (to[i] - from[i]) * e;
      state.screen = tmp;
      drawBase(); drawOverlay();
      if (t < 1) { animation = requestAnimationFrame(frame); return; }
      animation = null;
      state.screen = to; state.shown = points; buildGrid(); drawBase(); drawOverlay();
    };
    animation = requestAnimationFrame(frame);
  }

  let lastWidth = 0;
  const resizeObserver = new ResizeObserver(() => {
    const width = element.parentElement ? element.parentElement.clientWidth : 0;
    if (!width || width === lastWidth) return;
    lastWidth = width;
    if (state.screen) redraw();
  });

  return {
    element,
    stack,
    draw() {
      buildLegend();
      redraw();
      if (element.parentElement) { lastWidth = element.parentElement.clientWidth; resizeObserver.observe(element.parentElement); }
    },
    /** Replace the points (same count: animated unless reduced motion); `frame` (points) fixes the view's bounds, null fits the points. */
    setPoints(points, { axes, n, modalities, frame } = {}) {
      if (axes) setAxes(axes);
      if (frame !== undefined) state.frame = frame;
      if (n !== undefined && (n !== state.n || points.length !== state.points.length)) {
        state.n = n; state.modalities = modalities || state.modalities;
        state.hover = null; state.cursor = null; state.highlight = [];
        state.points = points; state.shown = points;
        buildLegend(); redraw();
        return;
      }
      animateTo(points);
    },
    setColors(colors) { state.colors = colors; buildLegend(); drawBase(); drawOverlay(); },
    highlight(indices) { state.highlight = indices || []; requestOverlay(); },
    /** Screen position (css px, relative to the canvas) of point i. */
    position(i) { return [state.screen[2 * i], state.screen[2 * i + 1]]; },
    get cursor() { return state.cursor; },
    destroy() { resizeObserver.disconnect(); if (animation) cancelAnimationFrame(animation); },
  };
}

/** Preview entries for point index s: the point's item, then the rest of its pair. */
export function pointEntries(s, n, modalities, items) {
  const m = Math.floor(s / n), i = s % n;
  const out = [{ item: items[i], modality: modalities[m], index: i, role: "point" }];
  modalities.forEach((name, mm) => { if (mm !== m) out.push({ item: items[i], modality: name, index: i, role: "its pair" }); });
  return out;
}
