// A small editor for the pocket models' world (exporter/pocket/scenes.py): up to three flat
// shapes on a light-grey 64 x 64 canvas, each with a shape, colour, size and position.
// Drawn at 4x and downsampled, as the scene generator does (its box filter and the browser's
// smoothing differ slightly: a drawn scene is a new image, not a copy of a dataset item).

import { el, selectControl, sliderControl } from "../dom.js";

export const SHAPES = ["circle", "square", "triangle", "diamond", "cross"];
export const COLOURS = {
  red: [215, 38, 38], green: [34, 160, 64], blue: [40, 84, 220],
  yellow: [232, 196, 24], purple: [140, 62, 190], orange: [240, 128, 24],
};
export const SIZES = { small: 6.5, large: 11.75 }; // mid-range radii of the generator, in px at 64
const SIZE = 64;
const SUPER = 4;
const BACKGROUND = 240;

function drawShape(g, obj) {
  const s = SUPER;
  const cx = obj.x * s;
  const cy = obj.y * s;
  const r = SIZES[obj.size] * s;
  const [R, G, B] = COLOURS[obj.colour];
  g.fillStyle = `rgb(${R},${G},${B})`;
  g.beginPath();
  if (obj.shape === "circle") {
    g.arc(cx, cy, r, 0, 2 * Math.PI);
  } else if (obj.shape === "square") {
    const h = r * 0.85;
    g.rect(cx - h, cy - h, 2 * h, 2 * h);
  } else if (obj.shape === "triangle") {
    [Math.PI / 2, (7 * Math.PI) / 6, (11 * Math.PI) / 6].forEach((a, i) => {
      const x = cx + r * Math.cos(a);
      const y = cy - r * Math.sin(a);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.closePath();
  } else if (obj.shape === "diamond") {
    g.moveTo(cx, cy - r); g.lineTo(cx + r * 0.8, cy); g.lineTo(cx, cy + r); g.lineTo(cx - r * 0.8, cy); g.closePath();
  } else if (obj.shape === "cross") {
    const w = r * 0.36;
    g.rect(cx - r, cy - w, 2 * r, 2 * w);
    g.rect(cx - w, cy - r, 2 * w, 2 * r);
  }
  g.fill();
}

/** RGBA bytes (64 x 64) of a list of objects. */
export function renderScene(objects) {
  const big = document.createElement("canvas");
  big.width = big.height = SIZE * SUPER;
  const g = big.getContext("2d");
  g.fillStyle = `rgb(${BACKGROUND},${BACKGROUND},${BACKGROUND})`;
  g.fillRect(0, 0, big.width, big.height);
  for (const obj of objects) drawShape(g, obj);
  const small = document.createElement("canvas");
  small.width = small.height = SIZE;
  const h = small.getContext("2d", { willReadFrequently: true });
  h.imageSmoothingEnabled = true;
  h.imageSmoothingQuality = "high";
  h.drawImage(big, 0, 0, SIZE, SIZE);
  return h.getImageData(0, 0, SIZE, SIZE).data;
}

/** The editor: controls for each object; onChange(objects) after every edit. */
export function sceneEditor(onChange) {
  const objects = [
    { shape: "circle", colour: "red", size: "large", x: 20, y: 32 },
    { shape: "square", colour: "blue", size: "small", x: 46, y: 32 },
  ];
  const list = el("div", { class: "live-scene-objects" });
  const add = el("button", { type: "button", text: "add an object" });
  const element = el("fieldset", { class: "live-scene" }, [el("legend", { text: "Draw a scene (the pocket models' world)" }), list, add]);

  function rebuild() {
    list.replaceChildren();
    objects.forEach((obj, i) => {
      const changed = () => onChange(objects.slice());
      const pick = (label, values, key) => selectControl(label, values.map((v) => ({ value: v, label: v })), obj[key], (v) => { obj[key] = v; changed(); }).element;
      const slide = (label, key) => {
        const control = sliderControl(label, { min: 8, max: 56, step: 1, value: obj[key] }, (v) => { obj[key] = v; control.output.textContent = String(v); changed(); });
        control.output.textContent = String(obj[key]);
        return control.element;
      };
      const remove = el("button", { type: "button", text: "remove", disabled: objects.length <= 1, attrs: { "aria-label": `remove object ${i + 1}` } });
      remove.addEventListener("click", () => { objects.splice(i, 1); rebuild(); changed(); });
      list.append(el("div", { class: "live-scene-object", attrs: { role: "group", "aria-label": `object ${i + 1}` } }, [
        pick("size", Object.keys(SIZES), "size"), pick("colour", Object.keys(COLOURS), "colour"), pick("shape", SHAPES, "shape"),
        slide("x", "x"), slide("y", "y"), remove,
      ]));
    });
    add.disabled = objects.length >= 3;
  }
  add.addEventListener("click", () => {
    objects.push({ shape: "triangle", colour: "green", size: "small", x: 32, y: 14 });
    rebuild();
    onChange(objects.slice());
  });
  rebuild();
  return { element, objects: () => objects.slice() };
}
