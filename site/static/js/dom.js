// Small DOM helpers shared by the figure modules. Text always goes through
// textContent or attributes, never through HTML parsing.

/** Create an element: el("div", {class: "x", text: "y", attrs: {role: "z"}}, [children]). */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "attrs") for (const [a, v] of Object.entries(value)) { if (v !== undefined && v !== null && v !== false) node.setAttribute(a, String(v)); }
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else node[key] = value;
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * The drawing surface of the canvas views: a base canvas (the data) under an
 * overlay canvas (pointer and cursor marks) in one focusable application region.
 */
export function canvasStack(prefix, roleDescription, label) {
  const base = el("canvas", { class: `${prefix}-base`, attrs: { "aria-hidden": "true" } });
  const overlay = el("canvas", { class: `${prefix}-overlay`, attrs: { "aria-hidden": "true" } });
  const stack = el("div", {
    class: `${prefix}-stack`,
    tabIndex: 0,
    attrs: { role: "application", "aria-roledescription": roleDescription, "aria-label": label },
  }, [base, overlay]);
  return { base, overlay, stack };
}

let uid = 0;
export function uniqueId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled <select>; options: [{value, label}]. */
export function selectControl(label, options, value, onChange) {
  const id = uniqueId("fig-select");
  const select = el("select", { id, class: "fig-select" });
  for (const option of options) {
    select.append(el("option", { value: option.value, text: option.label, selected: option.value === value }));
  }
  select.value = value;
  select.addEventListener("change", () => onChange(select.value));
  const wrapper = el("label", { class: "fig-control", attrs: { for: id } }, [el("span", { class: "fig-control-label", text: label }), select]);
  return { element: wrapper, select };
}

/** A toggle button with aria-pressed. */
export function toggleButton(label, pressed, onChange) {
  const button = el("button", { type: "button", class: "fig-toggle", text: label, attrs: { "aria-pressed": String(!!pressed) } });
  button.addEventListener("click", () => {
    const next = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(next));
    onChange(next);
  });
  return button;
}

/** A range slider with a live text output. */
export function sliderControl(label, { min, max, step = 1, value }, onInput) {
  const id = uniqueId("fig-range");
  const input = el("input", { id, type: "range", class: "fig-range", min: String(min), max: String(max), step: String(step), value: String(value) });
  const output = el("output", { class: "fig-range-value", attrs: { for: id } });
  input.addEventListener("input", () => onInput(Number(input.value)));
  const wrapper = el("div", { class: "fig-control fig-control-range" }, [
    el("label", { class: "fig-control-label", text: label, attrs: { for: id } }), input, output,
  ]);
  return { element: wrapper, input, output };
}

/** Visible warning for models whose weights were never trained. */
export function untrainedBadge(model) {
  if (!model || model.trained !== false) return null;
  return el("span", {
    class: "fig-badge fig-badge-untrained",
    text: "untrained weights",
    attrs: { title: `${model.label || model.name}: random, untrained weights; patterns here are not learned` },
  });
}

/**
 * A slot for the untrained-weights badge of a figure whose model can change at
 * run time (a model select). A figure with a fixed model passes switchable =
 * false: the page's build-time note already warns, so the slot stays empty.
 * show(model) puts that model's badge (or nothing) in the slot.
 */
export function badgeSlot(switchable, props = {}) {
  const element = el("span", props);
  return {
    element,
    show(model) {
      if (switchable) element.replaceChildren(...[untrainedBadge(model)].filter(Boolean));
    },
  };
}

export function modelLabel(model) {
  return model.label || model.name;
}

/** Escape text that must pass through plotly (which renders a subset of HTML).
 * Only & < > need it: without "<" no tag can start. plotly decodes just a few
 * entities (&amp; &lt; &gt; ...), so an escaped quote would show as "&quot;". */
export function plotlyText(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function formatNumber(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toFixed(digits);
}

/** Show a visible failure inside a figure and log it. */
export function showError(mount, error) {
  console.error(error);
  mount.replaceChildren(el("p", { class: "fig-error", attrs: { role: "alert" }, text: `This figure could not be drawn: ${error.message || error}` }));
}

/**
 * Report that a figure finished its first render: a performance measure from
 * the moment its data arrived, `data-rendered` on the mount and a bubbling
 * `figure-rendered` event ({kind, ms: since data arrived, total: since render() began}).
 */
export function markRendered(mount, kind, arrivedAt, startedAt = arrivedAt) {
  const end = performance.now();
  try {
    performance.measure(`figure:${kind}:${mount.id || "anon"}`, { start: arrivedAt, end });
  } catch (_) { /* measure is best effort */ }
  mount.dataset.rendered = "true";
  mount.dispatchEvent(new CustomEvent("figure-rendered", { bubbles: true, detail: { kind, ms: end - arrivedAt, total: end - startedAt } }));
}

/** Run fn at most once per animation frame with the latest arguments. */
export function rafThrottle(fn) {
  let pending = false;
  let lastArgs = null;
  return (...args) => {
    lastArgs = args;
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fn(...lastArgs);
    });
  };
}

/** Cluster sorting requested by options: `sorted: true` or `sort: "clusters"`. */
export function wantsSorted(options) {
  return options.sorted === true || options.sort === "clusters" || options.sort === true;
}

/** A list option given as an array, or as a string separated by "|" or whitespace. */
export function listOption(value, separator = /\s*\|\s*|\s+/) {
  if (value === undefined || value === null || value === "") return null;
  if (Array.isArray(value)) return value.map(String);
  return String(value).split(separator).filter(Boolean);
}
