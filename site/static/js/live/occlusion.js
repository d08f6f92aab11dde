// Occlusion saliency with forward passes only: onnxruntime-web computes no gradients, so the
// page cannot run Grad-CAM. A grey patch slides over the image; where covering the image lowers
// its cosine with the description most, the model was looking.

export const PATCH = 12;
export const STRIDE = 4;
const GREY = 240; // the scenes' background: covering with it removes the object

/** Saliency (size x size, Float32Array, >= 0) of `rgba` for the text vector. */
export async function occlusionMap(live, rgba, size, textVector, batch = 64) {
  const [base] = await live.encodeImages([live.pixels(rgba)]);
  const cos = (v) => v.reduce((s, x, i) => s + x * textVector[i], 0);
  const baseScore = cos(base);
  const positions = [];
  for (let y = 0; y + PATCH <= size; y += STRIDE) for (let x = 0; x + PATCH <= size; x += STRIDE) positions.push([x, y]);
  const drop = new Float32Array(size * size);
  const count = new Float32Array(size * size);
  for (let start = 0; start < positions.length; start += batch) {
    const chunk = positions.slice(start, start + batch);
    const inputs = chunk.map(([x0, y0]) => {
      const copy = new Uint8ClampedArray(rgba);
      for (let y = y0; y < y0 + PATCH; y++) for (let x = x0; x < x0 + PATCH; x++) {
        const k = (y * size + x) * 4;
        copy[k] = copy[k + 1] = copy[k + 2] = GREY;
      }
      return live.pixels(copy);
    });
    const vectors = await live.encodeImages(inputs);
    vectors.forEach((v, j) => {
      const d = baseScore - cos(v);
      const [x0, y0] = chunk[j];
      for (let y = y0; y < y0 + PATCH; y++) for (let x = x0; x < x0 + PATCH; x++) {
        drop[y * size + x] += d;
        count[y * size + x] += 1;
      }
    });
  }
  const map = new Float32Array(size * size);
  for (let i = 0; i < map.length; i++) map[i] = count[i] ? Math.max(0, drop[i] / count[i]) : 0;
  return { map, score: baseScore, passes: positions.length + 1 };
}

/** Draw an image (RGBA, size x size) scaled up, with a saliency map over it at `opacity`. */
export function drawOverlay(canvas, rgba, size, map, opacity) {
  const scale = canvas.width / size;
  const g = canvas.getContext("2d");
  const image = new ImageData(new Uint8ClampedArray(rgba), size, size);
  const tmp = document.createElement("canvas");
  tmp.width = tmp.height = size;
  tmp.getContext("2d").putImageData(image, 0, 0);
  g.imageSmoothingEnabled = false;
  g.clearRect(0, 0, canvas.width, canvas.height);
  g.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  if (!map) return null;
  let peak = 0;
  let at = 0;
  for (let i = 0; i < map.length; i++) if (map[i] > peak) { peak = map[i]; at = i; }
  if (peak <= 0) return null;
  for (let i = 0; i < map.length; i++) {
    const t = map[i] / peak;
    g.fillStyle = `rgba(230, 20, 20, ${(opacity * t).toFixed(3)})`;
    g.fillRect((i % size) * scale, Math.floor(i / size) * scale, scale, scale);
  }
  const px = (at % size) + 0.5;
  const py = Math.floor(at / size) + 0.5;
  g.strokeStyle = "#ffffff";
  g.lineWidth = 2;
  g.beginPath();
  g.arc(px * scale, py * scale, 6, 0, 2 * Math.PI);
  g.stroke();
  return { x: px, y: py };
}
