"""site/static/js/embedding-matrix.js + its worker in Chromium, against numpy on the same int8 embeddings."""

from __future__ import annotations

import functools
import json
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from exporter.embedding_payload import embeddings_payload, quantise

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]

PAGE = """<!doctype html><meta charset="utf-8"><script type="module">
import * as m from "./js/embedding-matrix.js";
window.check = async () => {
  const emb = m.decodeEmbeddings(await (await fetch("./embeddings.json")).json());
  const index = Int32Array.from({ length: emb.rows }, (_, i) => i);
  const reversed = index.slice().reverse();
  const pooled = m.pooledMatrix(emb, index, reversed, 7);
  const worker = new Worker("./js/embedding-worker.js", { type: "module" });
  const ask = (message) => new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data); worker.postMessage({ id: 1, ...message }); });
  const early = await ask({ type: "pooled", rowIndex: index, colIndex: index, blocks: 3 });
  await ask({ type: "load", values: emb.values.slice(), rows: emb.rows, dims: emb.dims });
  const fromWorker = await ask({ type: "pooled", rowIndex: index, colIndex: index, blocks: 5 });
  const top = await ask({ type: "topk", query: 4, first: emb.rows / 2, count: emb.rows / 2, k: 3 });
  return {
    rows: emb.rows, values: Array.from(emb.values),
    pooled: Array.from(pooled.values), rowBounds: Array.from(pooled.rowBounds), colBounds: Array.from(pooled.colBounds),
    workerPooled: Array.from(fromWorker.result.values), early: early.error,
    tile: Array.from(m.tile(emb, Int32Array.from([0, 5]), Int32Array.from([30, 31, 32]))),
    hover: m.similarity(emb, 3, 33), top: top.result.best,
  };
};
</script>"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Dataset:
    name = "tiny"
    modalities = ("image", "text")


def test_pooled_tiles_hover_and_top_k_match_numpy(browser, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    blocks = [rng.normal(size=(30, 12)) + shift for shift in (0.5, -0.5)]
    blocks = [b / np.linalg.norm(b, axis=1, keepdims=True) for b in blocks]
    shutil.copytree(REPO / "site" / "static" / "js", tmp_path / "js")
    (tmp_path / "embeddings.json").write_text(
        json.dumps(embeddings_payload("m", _Dataset, blocks)), encoding="utf-8"
    )
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        page.wait_for_function("typeof window.check === 'function'")
        got = page.evaluate("window.check()")
    finally:
        page.close()
        server.shutdown()
    codes, scales = quantise(np.concatenate(blocks))
    vectors = codes * scales.astype(np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert np.allclose(got["values"], vectors.ravel(), atol=1e-6)
    assert np.abs(vectors - np.concatenate(blocks)).max() < 0.02  # int8 keeps cosines close
    full = vectors @ vectors.T
    # Average pooling is exact: each pooled cell is the mean of its cells (columns in reversed order).
    rows, cols = got["rowBounds"], got["colBounds"]
    reordered = full[:, ::-1]
    expected = [
        reordered[rows[r] : rows[r + 1], cols[c] : cols[c + 1]].mean() for r in range(7) for c in range(7)
    ]
    assert np.allclose(got["pooled"], expected, atol=1e-5)
    assert len(got["workerPooled"]) == 25 and got["early"] and "no embeddings yet" in got["early"]
    assert np.allclose(got["tile"], full[np.ix_([0, 5], [30, 31, 32])].ravel(), atol=1e-5)
    assert got["hover"] == pytest.approx(full[3, 33], abs=1e-5)
    best = np.argsort(-full[4, 30:], kind="stable")[:3]
    assert [entry["index"] for entry in got["top"]] == best.tolist()


STORE_PAGE = """<!doctype html><meta charset="utf-8"><script type="module">
import * as m from "./js/embedding-matrix.js";
window.check = async () => {
  const store = m.buildStore(m.storeParts(await (await fetch("./embeddings.json")).json()));
  const index = Int32Array.from({ length: store.rows }, (_, i) => i);
  const worker = new Worker("./js/embedding-worker.js", { type: "module" });
  let next = 0;
  const ask = (message) => new Promise((resolve) => {
    const id = next++;
    worker.addEventListener("message", function on(e) { if (e.data.id === id) { worker.removeEventListener("message", on); resolve(e.data); } });
    worker.postMessage({ id, ...message }); });
  const opened = await ask({ type: "open", url: new URL("./embeddings.json", location.href).href });
  const f = 0.6;
  const pooled = await ask({ type: "store-pooled", rowIndex: index, colIndex: "rows", blocks: 7, fraction: f });
  const tile = await ask({ type: "store-tile", rowIndex: Int32Array.from([0, 5]), colIndex: Int32Array.from([30, 31, 32]), fraction: f });
  const top = await ask({ type: "store-topk", query: 4, first: 30, count: 30, k: 3, fraction: f });
  const missing = await ask({ type: "open", url: new URL("./nothing.json", location.href).href });
  return {
    openedRows: opened.result.rows, pooled: Array.from(pooled.result.values), bounds: Array.from(pooled.result.rowBounds),
    tile: Array.from(tile.result.values), top: top.result.best, hover: m.storeSimilarity(store, 3, 33, f),
    hover0: m.storeSimilarity(store, 3, 33, 0), pageTop: m.storeTopK(store, 34, 0, 30, 3, f), missing: missing.error,
  };
};
</script>"""


def test_int8_store_and_its_worker_apply_the_closing_shift(browser, tmp_path: Path) -> None:
    """The figures' path: int8 store, the gap slider's shift normalise(x - f * offset_m), worker requests."""
    from exporter.analyses import modalities

    rng = np.random.default_rng(5)
    blocks = [rng.normal(size=(30, 12)) + shift for shift in (0.7, -0.7)]
    shutil.copytree(REPO / "site" / "static" / "js", tmp_path / "js")
    (tmp_path / "embeddings.json").write_text(json.dumps(embeddings_payload("m", _Dataset, blocks)), encoding="utf-8")
    (tmp_path / "index.html").write_text(STORE_PAGE, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        page.wait_for_function("typeof window.check === 'function'")
        got = page.evaluate("window.check()")
    finally:
        page.close()
        server.shutdown()
    units = [b / np.linalg.norm(b, axis=1, keepdims=True) for b in blocks]
    codes, scales = quantise(np.concatenate(units))
    vectors = codes * scales.astype(np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    offsets = modalities.centroid_offsets(units)
    f = 0.6
    moved = np.concatenate([vectors[m * 30 : (m + 1) * 30] - f * offsets[m] for m in range(2)])
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    full = moved @ moved.T
    assert got["openedRows"] == 60
    bounds = got["bounds"]
    expected = [full[bounds[r] : bounds[r + 1], bounds[c] : bounds[c + 1]].mean() for r in range(7) for c in range(7)]
    assert np.allclose(got["pooled"], expected, atol=1e-5)
    assert np.allclose(got["tile"], full[np.ix_([0, 5], [30, 31, 32])].ravel(), atol=1e-5)
    assert got["hover"] == pytest.approx(full[3, 33], abs=1e-5)
    assert got["hover0"] == pytest.approx((vectors @ vectors.T)[3, 33], abs=1e-5)
    assert abs(got["hover"] - got["hover0"]) > 0.05  # the shift moves the value
    assert [e["index"] for e in got["top"]] == np.argsort(-full[4, 30:], kind="stable")[:3].tolist()
    assert [e["score"] for e in got["top"]] == pytest.approx(np.sort(full[4, 30:])[::-1][:3], abs=1e-5)
    assert [e["index"] for e in got["pageTop"]] == np.argsort(-full[34, :30], kind="stable")[:3].tolist()
    assert "nothing.json" in got["missing"] and "404" in got["missing"]
