"""Figures of a result that ships embeddings.json show what the matrix path shows for the same export.

One small export of 200 precomputed 32-d pairs is written twice: with today's
matrices (embeddings_above above 200) and with embeddings (embeddings_above = 0).

Tolerance, cell by cell: the matrix path shows u1 codes, off the exact cosine by
at most half a code (range / 510); the embedding path computes from int8 codes
(per-dimension scale max|x_d| / 127), whose cosines differ from the exact ones by
at most `int8_error`, measured here in numpy on the very codes the page decodes;
both go through float32. So |embedding - matrix| <= range / 510 + int8_error + 1e-5.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest

from exporter.config import parse_config
from exporter.contract import decode_array
from exporter.pipeline import run_export
from headless.harness import figure_config, prepare_root
from headless.server import QuietHandler
from tests.browser.export_reader import preview_state

N, DIM = 200, 32


def _dataset(root: Path) -> Path:
    rng = np.random.default_rng(11)
    (root / "m1").mkdir(parents=True)
    rows = [json.dumps({"id": f"p{i}", "text": f"caption {i} {'abc'[i % 3]}"}) for i in range(N)]
    (root / "pairs.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    content = rng.normal(size=(N, DIM))
    gap = rng.normal(size=DIM)
    np.save(root / "m1" / "image.npy", (content + 0.8 * gap + 0.7 * rng.normal(size=(N, DIM))).astype(np.float32))
    np.save(root / "m1" / "text.npy", (content - 0.8 * gap + 0.7 * rng.normal(size=(N, DIM))).astype(np.float32))
    (root / "m1" / "model.json").write_text(json.dumps({"name": "m1", "temperature": 0.05}), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def exports(tmp_path_factory, browser):
    """(served base URL, top folder, matrix data dir, embeddings data dir)."""
    import functools
    import threading
    from http.server import ThreadingHTTPServer

    tmp = tmp_path_factory.mktemp("embedding-figures")
    root = _dataset(tmp / "vectors")
    outs = {}
    for name, above in (("matrices", 100000), ("embeddings", 0)):
        config = parse_config(
            f"""
[export]
projections = ["pca"]
figure_pairs = {N}
embeddings_above = {above}
bootstrap = 20
clusters = 3
retrieval_k = 5

[[datasets]]
name = "pairs"
kind = "embeddings"
path = "{root.as_posix()}"

[[models]]
spec = "embeddings:{(root / 'm1').as_posix()}"
""",
            tmp / f"{name}.toml",
        )
        outs[name] = tmp / name
        run_export(config, outs[name], cache_dir=tmp / "cache")
    served_root = tmp / "served"
    top = prepare_root(served_root, outs["matrices"])
    os.symlink(outs["embeddings"].resolve(), top / "data-emb", target_is_directory=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(served_root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/repo/", top, outs["matrices"], outs["embeddings"]
    server.shutdown()
    server.server_close()


def _result(out: Path, kind: str) -> dict:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return json.loads((out / manifest["results"][0]["files"][kind]).read_text(encoding="utf-8"))


def _dequantised(out: Path) -> tuple[np.ndarray, np.ndarray]:  # noqa: D103
    """The unit rows the page decodes, and the closing offsets."""
    emb = _result(out, "embeddings")
    rows, dims = map(int, emb["vectors"]["shape"].split(","))
    codes = np.frombuffer(base64.b64decode(emb["vectors"]["bdata"]), dtype=np.int8).reshape(rows, dims)
    values = codes * decode_array(emb["scales"]).astype(np.float64)
    values /= np.linalg.norm(values, axis=1, keepdims=True)
    return values, decode_array(emb["offsets"]).reshape(-1, dims).astype(np.float64)


def _shifted(values: np.ndarray, offsets: np.ndarray, f: float) -> np.ndarray:
    moved = np.concatenate([values[m * N : (m + 1) * N] - f * offsets[m] for m in range(len(offsets))])
    return moved / np.linalg.norm(moved, axis=1, keepdims=True)


def _tolerance(matrix_out: Path, values: np.ndarray) -> float:
    exact = np.concatenate([np.load(p) for p in sorted((matrix_out.parent / "vectors" / "m1").glob("*.npy"))])
    exact = exact.astype(np.float64)
    # image.npy sorts before text.npy: rows stacked image then text, as the export does.
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    int8_error = float(np.abs(values @ values.T - exact @ exact.T).max())
    assert int8_error < 0.02  # int8 per dimension keeps 32-d cosines this close
    sim = _result(matrix_out, "similarity")["matrix"]
    return sim["scale"] / 2 + int8_error + 1e-5


class _Page:
    def __init__(self, browser, exports):
        from tests.browser.browser_support import FigurePage

        self.fp = FigurePage(browser, exports[:2])

    def __enter__(self):
        return self.fp

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self.fp.assert_clean()
        finally:
            self.fp.context.close()


def _drawn(page, sel: str) -> dict:
    page.wait_for_function(f"() => {{ const e = document.querySelector('{sel} .fig-matrix'); return e && e.matrixDrawn && !e.hasAttribute('aria-busy'); }}")
    return page.evaluate(
        f"""() => {{ const d = document.querySelector('{sel} .fig-matrix').matrixDrawn;
            return {{ ...d, values: Array.from(d.values) }}; }}"""
    )


def _expected(drawn: dict, matrix: np.ndarray) -> np.ndarray:
    """What the view must have drawn of `matrix` (display order = stacked order here): its window,
    cell by cell at full resolution, else averaged in blocks with the view's bounds (JS Math.round)."""
    r0, c0, span, side = drawn["r0"], drawn["c0"], drawn["span"], drawn["side"]
    window = matrix[r0 : r0 + span, c0 : c0 + span]
    if drawn["resolution"] == "full":
        return window
    bounds = [int(np.floor(b * span / side + 0.5)) for b in range(side + 1)]
    return np.array([[window[bounds[i]:bounds[i + 1], bounds[j]:bounds[j + 1]].mean() for j in range(side)] for i in range(side)])


def _cells(drawn: dict) -> np.ndarray:
    return np.array(drawn["values"]).reshape(drawn["side"], drawn["side"])


def _score(page, sel: str) -> float:
    return float(page.locator(f"{sel} .fig-preview-score").text_content().split()[-1])


def test_heatmap_cells_equal_the_matrix_path_and_zoom_recomputes(browser, exports) -> None:
    _, _, matrix_out, emb_out = exports
    values, _ = _dequantised(emb_out)
    tol = _tolerance(matrix_out, values)
    shipped = decode_array(_result(matrix_out, "similarity")["matrix"])
    with _Page(browser, exports) as fp:
        page = fp.open("emb-heatmap", [
            figure_config("heatmap", "fig-m", dataset="pairs", options={"size": 160}),
            figure_config("heatmap", "fig-e", dataset="pairs", options={"size": 160}, data="data-emb"),
        ])
        assert page.locator("#fig-m .fig-matrix-embeddings").count() == 0
        first = _drawn(page, "#fig-e")
        # 400 rows on a 160-pixel canvas: the exact average-pooled picture, every block the mean of its cells.
        assert first["resolution"] == "pooled" and first["span"] == 2 * N
        side = first["side"]
        bounds = [int(np.floor(b * 2 * N / side + 0.5)) for b in range(side + 1)]  # JS Math.round
        pooled = np.array(first["values"]).reshape(side, side)
        full = values @ values.T
        expected = np.array([[full[bounds[i]:bounds[i + 1], bounds[j]:bounds[j + 1]].mean() for j in range(side)] for i in range(side)])
        assert np.abs(pooled - expected).max() < 1e-4
        # ... and the same picture as the matrix path's cells averaged, within the tolerance.
        via_matrix = np.array([[shipped[bounds[i]:bounds[i + 1], bounds[j]:bounds[j + 1]].mean() for j in range(side)] for i in range(side)])
        assert np.abs(pooled - via_matrix).max() <= tol

        # The keyboard: the same keys give the same cell and (within tol) the same value in both.
        for sel in ("#fig-m", "#fig-e"):
            page.locator(f"{sel} .fig-matrix-stack").focus()
            for key in ("ArrowRight", "ArrowDown", "ArrowDown", "Shift+ArrowRight", "PageDown"):
                page.keyboard.press(key)
        state_m, state_e = preview_state(page, "#fig-m"), preview_state(page, "#fig-e")
        assert state_m == state_e and (state_e[0]["index"], state_e[1]["index"]) == (2, 10)
        assert state_e[0]["modality"] == "text"  # PageDown: one modality down
        assert abs(_score(page, "#fig-e") - _score(page, "#fig-m")) <= tol + 1e-3  # both printed to 3 decimals
        assert abs(_score(page, "#fig-e") - full[N + 2, 10]) <= 6e-4

        # Zoom in around the cursor: the window is recomputed at full resolution, cell by cell.
        page.locator("#fig-e .fig-matrix-stack").focus()
        page.keyboard.press("+")
        page.wait_for_function("() => document.querySelector('#fig-e .fig-matrix').dataset.resolution === 'full'")
        zoomed = _drawn(page, "#fig-e")
        assert zoomed["span"] == 100 and zoomed["side"] == 100
        r0, c0 = zoomed["r0"], zoomed["c0"]
        assert r0 <= N + 2 < r0 + 100 and c0 <= 10 < c0 + 100
        cells = np.array(zoomed["values"]).reshape(100, 100)
        assert np.abs(cells - full[r0 : r0 + 100, c0 : c0 + 100]).max() < 1e-5
        assert np.abs(cells - shipped[r0 : r0 + 100, c0 : c0 + 100]).max() <= tol
        # The cursor keeps working in the window, and the view pans to follow it.
        page.keyboard.press("Home")
        page.wait_for_function("() => document.querySelector('#fig-e .fig-matrix').dataset.window.split(',')[1] === '0'")
        assert preview_state(page, "#fig-e")[1]["index"] == 0
        page.keyboard.press("0")
        page.wait_for_function("() => document.querySelector('#fig-e .fig-matrix').dataset.resolution === 'pooled'")
        # Hover with the pointer: one dot product on the page.
        box = page.locator("#fig-e .fig-matrix-overlay").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
        row, col = int(0.25 * 2 * N), int(0.75 * 2 * N)
        state = preview_state(page, "#fig-e")
        assert (state[0]["modality"], state[0]["index"]) == ("image", row)
        assert (state[1]["modality"], state[1]["index"]) == ("text", col - N)
        assert abs(_score(page, "#fig-e") - full[row, col]) <= 6e-4
        # The zoom bar sits under the matrix and its colour bar, not in the label column: the
        # button takes a real click (Playwright refuses a covered one) and zooms.
        zoom_in = page.locator("#fig-e .fig-zoom-in")
        assert zoom_in.bounding_box()["y"] >= box["y"] + box["height"]
        assert page.locator("#fig-e .fig-matrix").get_attribute("data-window").split(",")[2] == str(2 * N)
        zoom_in.click()
        page.wait_for_function(f"() => document.querySelector('#fig-e .fig-matrix').dataset.window.split(',')[2] === '{2 * N // 4}'")


def test_retrieval_top_k_equals_the_matrix_path(browser, exports) -> None:
    _, _, matrix_out, emb_out = exports
    values, _ = _dequantised(emb_out)
    tol = _tolerance(matrix_out, values)
    ret = _result(matrix_out, "retrieval")
    with _Page(browser, exports) as fp:
        page = fp.open("emb-retrieval", [
            figure_config("retrieval", "fig-m", dataset="pairs"),
            figure_config("retrieval", "fig-e", dataset="pairs", data="data-emb"),
        ])
        for direction, query in (("i2t", 0), ("i2t", 37), ("t2i", 5), ("t2i", 199)):
            for sel in ("#fig-m", "#fig-e"):
                page.locator(f"{sel} .fig-controls select").nth(0).select_option(direction)
                page.locator(f"{sel} .fig-controls select").nth(1).select_option(str(query))
            page.wait_for_function(f"() => document.querySelector('#fig-e .fig-retrieval').dataset.shown === '{direction}:{query}'")
            hits = {
                sel: page.evaluate(
                    f"""() => [...document.querySelectorAll('{sel} .fig-retrieval-hit')].map((h) => [
                        Number(h.dataset.index), Number(h.querySelector('.fig-retrieval-score').textContent)])"""
                )
                for sel in ("#fig-m", "#fig-e")
            }
            exact = values[:N] @ values[N:].T if direction == "i2t" else values[N:] @ values[:N].T
            scores = exact[query]
            ranked = np.argsort(-scores, kind="stable")[: ret["k"]]
            assert [i for i, _ in hits["#fig-e"]] == [int(i) for i in ranked]  # on the codes the page has
            for (i_m, s_m), (i_e, s_e) in zip(hits["#fig-m"], hits["#fig-e"], strict=True):
                # The matrix path's ranking is of the unquantised vectors: a swap only between near-ties.
                if i_m != i_e:
                    assert abs(scores[i_m] - scores[i_e]) <= 2 * tol
                assert abs(s_m - s_e) <= tol + ret["i2t"]["scores"]["scale"] / 2 + 1e-3
            assert page.locator("#fig-e .fig-recall").text_content() == page.locator("#fig-m .fig-recall").text_content()


def test_explorer_gap_slider_applies_the_closing_shift(browser, exports) -> None:
    _, _, matrix_out, emb_out = exports
    values, offsets = _dequantised(emb_out)
    tol = _tolerance(matrix_out, values)
    gap = _result(matrix_out, "gap")
    with _Page(browser, exports) as fp:
        page = fp.open("emb-explorer", [
            figure_config("explorer", "fig-m", dataset="pairs"),
            figure_config("explorer", "fig-e", dataset="pairs", data="data-emb"),
        ])
        for step in (2, 4, 0):
            fraction = gap["steps"][step]["fraction"]
            for sel in ("#fig-m", "#fig-e"):
                slider = page.locator(f"{sel} input[type=range]")
                slider.focus()
                page.keyboard.press("Home")
                for _ in range(step):
                    page.keyboard.press("ArrowRight")
                page.wait_for_function(f"() => document.querySelector('{sel} .figure-mount').dataset.step === '{step}'")
            page.wait_for_function(
                f"() => {{ const d = document.querySelector('#fig-e .fig-matrix').matrixDrawn; return d && d.fraction === {fraction}; }}"
            )
            drawn = _drawn(page, "#fig-e")
            cells = _cells(drawn)
            moved = _shifted(values, offsets, fraction)
            assert np.abs(cells - _expected(drawn, moved @ moved.T)).max() < 1e-4
            shipped = gap["steps"][step]
            shipped_matrix = decode_array(json.loads((matrix_out / shipped["matrix_file"]).read_text(encoding="utf-8"))["matrix"])
            assert np.abs(cells - _expected(drawn, shipped_matrix)).max() <= tol + np.ptp(shipped_matrix) / 510
            assert page.locator("#fig-e .fig-status").text_content() == page.locator("#fig-m .fig-status").text_content()
        # Keyboard on the matrix at the last step shown: the same items and value as the matrix path.
        for sel in ("#fig-m", "#fig-e"):
            page.locator(f"{sel} .fig-matrix-stack").focus()
            for key in ("ArrowRight", "ArrowDown", "ArrowRight", "PageDown"):
                page.keyboard.press(key)
        assert preview_state(page, "#fig-m") == preview_state(page, "#fig-e")
        assert abs(_score(page, "#fig-e") - _score(page, "#fig-m")) <= tol + 1e-3


def test_compare_closed_variant_from_embeddings(browser, exports) -> None:
    _, _, matrix_out, emb_out = exports
    values, offsets = _dequantised(emb_out)
    last = _result(matrix_out, "gap")["steps"][-1]
    with _Page(browser, exports) as fp:
        page = fp.open("emb-compare", [
            figure_config("compare", "fig-e", dataset="pairs", options={"variant": "closed", "size": 420}, data="data-emb"),
        ])
        drawn = _drawn(page, "#fig-e")
        moved = _shifted(values, offsets, last["fraction"])
        assert np.abs(_cells(drawn) - _expected(drawn, moved @ moved.T)).max() < 1e-4
        assert drawn["fraction"] == last["fraction"]
        assert page.locator("#fig-e .fig-shared-bar span").first.text_content() == f"{last['matrix_range'][0]:.2f}"


def test_large_sample_retrieval_takes_the_query_as_a_number(browser, tmp_path) -> None:
    """Above 2,000 queries the figure offers a number box, not a select of every item; ranking stays exact."""
    import functools
    import threading
    from http.server import ThreadingHTTPServer

    from bench.bench_embeddings_browser import write_export
    from tests.browser.browser_support import FigurePage

    rng = np.random.default_rng(2)
    n = 2100
    blocks = [rng.normal(size=(n, 16)) + s for s in (0.5, -0.5)]
    blocks = [b / np.linalg.norm(b, axis=1, keepdims=True) for b in blocks]
    write_export(tmp_path / "data", blocks, True)
    top = prepare_root(tmp_path / "served", tmp_path / "data")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path / "served")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fp = FigurePage(browser, (f"http://127.0.0.1:{server.server_address[1]}/repo/", top))
    try:
        page = fp.open("emb-many", [figure_config("retrieval", "fig-r", dataset="synthetic")])
        assert page.locator("#fig-r .fig-controls select").count() == 1  # the direction only
        box = page.locator("#fig-r .fig-controls input[type=number]")
        box.fill("1999")
        box.dispatch_event("change")
        page.wait_for_function("() => document.querySelector('#fig-r .fig-retrieval').dataset.shown === 'i2t:1999'")
        shown = page.evaluate("() => [...document.querySelectorAll('#fig-r .fig-retrieval-hit')].map((h) => Number(h.dataset.index))")
        values, _ = _dequantised(tmp_path / "data")
        scores = values[1999] @ values[n:].T
        assert shown == np.argsort(-scores, kind="stable")[:10].tolist()
        fp.assert_clean()
    finally:
        fp.context.close()
        server.shutdown()
