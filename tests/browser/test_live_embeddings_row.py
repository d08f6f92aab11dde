"""The live caption row under the embeddings heatmap (a result above `embeddings_above` ships
embeddings.json, drawn by embedding-view.js): the typed caption's cosines follow the view's
columns, pooled into the picture's column blocks at the first zoom, one per column once zoomed
in, and the quadrant and cluster sorting; checked against the cosines numpy computes from the
exporter's vectors (the live bundle's) and the exporter's own text tower."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from exporter.config import parse_config
from exporter.contract import decode_array
from exporter.live.towers import run_onnx
from exporter.pocket import registry
from exporter.pocket.tokenizer import scene_tokenizer
from headless.harness import SUBPATH, figure_config, prepare_root
from headless.server import serve
from tests.browser.browser_support import FigurePage
from tests.pocket._tiny import tiny_spec

N = 120  # 240 stacked columns: more than the 160-pixel canvas, so the first picture is pooled
SIZE = 160
CONFIG = f"""
[export]
seed = 31415
projections = ["pca"]
embeddings_above = 50
bootstrap = 20

[[datasets]]
name = "shapes"
kind = "shapes"
n = {N}

[[models]]
spec = "pocket:tiny-live"
label = "tiny"
live = "text"
"""
SEL = "#fig-hm"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from exporter.pipeline import run_export

    root = tmp_path_factory.mktemp("live-embeddings-row")
    monkey = pytest.MonkeyPatch()
    monkey.setitem(registry.POCKET_MODELS, "tiny-live", tiny_spec(display_n=N))
    try:
        run_export(
            parse_config(CONFIG, root / "export.toml"), root / "data", cache_dir=root / "cache", device="cpu"
        )
    finally:
        monkey.undo()
    top = prepare_root(root / "served", root / "data")
    with serve(root / "served") as url:
        yield (f"{url}{SUBPATH}/", top), root / "data"


def _load(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _cosines(data_dir, caption: str) -> np.ndarray:
    """The caption's cosine with every stacked item (images, then captions), from the exporter's
    vectors and its text tower run by onnxruntime in Python."""
    bundle = _load(data_dir / "live" / "pocket-tiny-live" / "live.json")
    tokenizer = scene_tokenizer(bundle["tokenizer"]["context_length"])
    assert tokenizer.vocab == bundle["tokenizer"]["vocab"]
    query = run_onnx(
        (data_dir / bundle["towers"]["text"]["file"]).read_bytes(), tokenizer([caption]).numpy()
    )[0]
    found = bundle["datasets"]["shapes"]
    stacked = np.vstack([decode_array(found["image"]), decode_array(found["text"])]).astype(np.float64)
    return stacked @ query.astype(np.float64)


def _pooled(values: np.ndarray, blocks: int) -> np.ndarray:
    """Means over `blocks` consecutive runs, split where embedding-matrix.js's blockMeans splits."""
    bounds = [math.floor(b * len(values) / blocks + 0.5) for b in range(blocks + 1)]
    return np.array([values[bounds[b] : bounds[b + 1]].mean() for b in range(blocks)])


def _settled(page, window: str | None = None) -> dict:
    """Once the final picture is on the canvas (of `window`, if given): its window and pixel width,
    and the row's values."""
    page.wait_for_function(
        """([sel, window]) => {
            const m = document.querySelector(`${sel} .fig-matrix`);
            return m.matrixDrawn && m.matrixDrawn.final && !m.hasAttribute("aria-busy")
                && (!window || m.dataset.window === window);
        }""",
        arg=[SEL, window],
    )
    return page.evaluate(
        """(sel) => {
            const m = document.querySelector(`${sel} .fig-matrix`);
            return {
                window: m.dataset.window,
                resolution: m.dataset.resolution,
                pixels: m.querySelector(".fig-matrix-base").width,
                row: [...document.querySelector(`${sel} .live-heatmap-row`).rowDrawn],
                rowPixels: document.querySelector(`${sel} .live-row-canvas`).width,
            };
        }""",
        SEL,
    )


def test_caption_row_follows_the_embeddings_view(browser, served):
    (base, top), data_dir = served
    manifest = _load(data_dir / "manifest.json")
    (result,) = manifest["results"]
    assert "embeddings" in result["files"]  # the figure goes through embedding-view.js
    order = _load(data_dir / result["files"]["similarity"])["order"]
    fp = FigurePage(browser, (base, top))
    try:
        page = fp.open(
            "live-embeddings-row",
            [figure_config("heatmap", SEL[1:], models=["pocket:tiny-live"], options={"size": SIZE})],
        )
        assert page.locator(f"{SEL} .fig-matrix-embeddings").count() == 1
        assert page.locator(f"{SEL} .live-row-strip").is_hidden()
        caption = "a small red circle"
        field = page.locator(f"{SEL} .live-heatmap-row .live-input")
        field.fill(caption)
        field.press("Enter")
        page.wait_for_function(
            f"() => document.querySelector('{SEL} .live-heatmap-row').dataset.answered === '1'", timeout=60000
        )
        expected = _cosines(data_dir, caption)
        assert page.locator(f"{SEL} .live-row-strip").is_visible()

        # The first picture: every column, pooled into the canvas's pixel columns.
        shown = _settled(page)
        assert shown["resolution"] == "pooled" and shown["window"] == f"0,0,{2 * N}"
        blocks = shown["pixels"]
        assert blocks < 2 * N
        pooled = _pooled(expected, blocks)
        assert shown["rowPixels"] == blocks == len(shown["row"])
        assert np.abs(np.array(shown["row"]) - pooled).max() < 1e-3
        # A pooled column's readout is its block's mean (the first block holds images 0 and 1 here).
        assert blocks == SIZE  # 240 columns into 160: blocks of 2, 1, 2, 1, ...
        box = page.locator(f"{SEL} .live-row-canvas").bounding_box()
        page.mouse.move(box["x"] + 0.5 * box["width"] / blocks, box["y"] + box["height"] / 2)
        text = page.locator(f"{SEL} .live-row-readout").text_content()
        assert "2 columns (image 0 to image 1)" in text, text
        assert abs(float(re.findall(r"mean cosine (-?\d+\.\d+)", text)[0]) - expected[:2].mean()) < 1.5e-3

        # One zoom step: the window of a quarter of the columns around the middle, every cell.
        span = round(2 * N / 4)
        c0 = N - span // 2
        page.locator(f"{SEL} .fig-matrix-stack").focus()
        page.keyboard.press("+")
        shown = _settled(page, f"{c0},{c0},{span}")
        assert shown["resolution"] == "full" and len(shown["row"]) == span
        assert np.abs(np.array(shown["row"]) - expected[c0 : c0 + span]).max() < 1e-3

        # The image x text quadrant: the captions' columns; then in cluster order.
        page.locator(f"{SEL} .fig-header select").select_option("0,1")
        shown = _settled(page, f"0,0,{N}")
        assert np.abs(np.array(shown["row"]) - expected[N:]).max() < 1e-3
        page.locator(f"{SEL} button", has_text="Sort by clusters").click()
        assert order[:5] != list(range(5))
        shown = _settled(page, f"0,0,{N}")
        assert np.abs(np.array(shown["row"]) - expected[N + np.array(order)]).max() < 1e-3
        fp.assert_clean()
    finally:
        fp.context.close()
