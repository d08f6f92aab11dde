// The in-page model runtime: onnxruntime-web (vendored under static/vendor/onnxruntime-web),
// loaded only when a reader first asks a live question. Downloads report their progress.

const VENDOR = new URL("../../vendor/onnxruntime-web/", import.meta.url);
// Bytes of the WebAssembly runtime a reader downloads once (tests check it against the file).
export const RUNTIME_BYTES = 14239897 + 50126 + 24381;
const WASM_FILE = "ort-wasm-simd-threaded.wasm";

let runtimePromise = null;
const sessionCache = new Map();

/** Fetch a URL's bytes, calling onBytes(received, total) as they arrive. */
export async function fetchBytes(url, onBytes = () => {}) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get("content-length")) || 0;
  if (!response.body || !response.body.getReader) {
    const buffer = new Uint8Array(await response.arrayBuffer());
    onBytes(buffer.length, buffer.length);
    return buffer;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes(received, total);
  }
  const out = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) { out.set(chunk, at); at += chunk.length; }
  return out;
}

/** onnxruntime-web, loaded once per page; onBytes reports the WebAssembly download. */
export function loadRuntime(onBytes = () => {}) {
  if (!runtimePromise) {
    runtimePromise = (async () => {
      const ort = await import(new URL("ort.wasm.min.mjs", VENDOR).href);
      // One thread: GitHub Pages sends no cross-origin isolation headers, so there are no shared
      // workers to use; the pocket models are small enough that one thread answers in milliseconds.
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      ort.env.wasm.wasmPaths = VENDOR.href;
      ort.env.wasm.wasmBinary = await fetchBytes(new URL(WASM_FILE, VENDOR).href, onBytes);
      ort.env.logLevel = "error";
      return ort;
    })();
    runtimePromise.catch(() => { runtimePromise = null; });
  }
  return runtimePromise;
}

/** An inference session for an ONNX file (one per URL per page). */
export function loadSession(url, onBytes = () => {}) {
  const key = String(url);
  if (!sessionCache.has(key)) {
    const promise = (async () => {
      const ort = await loadRuntime();
      const bytes = await fetchBytes(key, onBytes);
      // disable_quant_qdq lets constant folding turn an int8 tower's DequantizeLinear weights
      // into float ones once, at load, instead of on every query (same values, see towers.py).
      return ort.InferenceSession.create(bytes, {
        executionProviders: ["wasm"], graphOptimizationLevel: "all", extra: { session: { disable_quant_qdq: "1" } },
      });
    })();
    promise.catch(() => sessionCache.delete(key));
    sessionCache.set(key, promise);
  }
  return sessionCache.get(key);
}
