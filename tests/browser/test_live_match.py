"""The page's own encoders agree with the exporter: onnxruntime-web in Chromium, running the
ONNX towers exporter/live wrote, gives the embeddings the exporter computes with torch for the
same captions and images (max abs difference <= 1e-4 after normalisation)."""

from __future__ import annotations

import numpy as np
import pytest
from browser_support import FigurePage

from exporter.pocket.tokenizer import WordTokenizer
from headless.harness import SUBPATH, prepare_root
from headless.server import serve
from tests.fake_export import write_fake_export
from tests.live_support import add_live_bundle

TOLERANCE = 1e-4

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>live match</title>
<link rel="icon" href="data:,"></head><body>
<script type="module">
import { openLiveModel } from "./static/js/live/model.js";
const manifest = await (await fetch("data/manifest.json")).json();
const base = new URL("data/", document.baseURI);
const ctx = { manifest, resolve: (rel) => new URL(rel, base) };
const model = manifest.models.find((m) => m.name === "pocket:infonce");
window.__live = await openLiveModel(ctx, model);
window.__ready = true;
</script></body></html>
"""


@pytest.fixture(scope="module")
def live_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    data = root / "export"
    write_fake_export(data, 12, models=("pocket:infonce",), datasets=("shapes",), parts=("similarity",))
    model, datasets, entry = add_live_bundle(data)
    top = prepare_root(root, data)
    (top / "live.html").write_text(PAGE, encoding="utf-8")
    with serve(root) as url:
        yield f"{url}{SUBPATH}/", top, model, datasets[0]


@pytest.fixture(scope="module")
def live_page(browser, live_site):
    """One page for the module: the 14 MB runtime is compiled once."""
    base_url, top, model, dataset = live_site
    fp = FigurePage(browser, (base_url, top))
    fp.page.goto(base_url + "live.html")
    fp.page.wait_for_function("() => window.__ready === true", timeout=20000)
    yield fp.page, model, dataset
    try:
        fp.assert_clean()
    finally:
        fp.context.close()


CAPTIONS = [
    "a large red circle left of a small blue square",
    "A Small GREEN triangle, at the top",
    "a purple giraffe",  # unknown word -> <unk>
    "a large red circle , a small blue square and a small green cross above a large yellow diamond below",
]


def test_page_text_embeddings_match_the_exporter(live_page):
    page, model, _ = live_page
    got = np.array(
        page.evaluate("async (t) => (await window.__live.encodeTexts(t)).map((v) => [...v])", CAPTIONS)
    )
    expected = model.encode_texts(CAPTIONS)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE
    # Different captions give different vectors (the comparison is not between constants).
    assert np.abs(expected[0] - expected[1]).max() > 0.01


def test_page_image_embeddings_match_the_exporter(live_page):
    page, model, dataset = live_page
    indices = [0, 3, 7, 11]
    got = np.array(
        page.evaluate(
            """async (idx) => {
                const live = window.__live;
                const inputs = [];
                for (const i of idx) inputs.push(live.pixels(await live.itemRGBA("shapes", i)));
                return (await live.encodeImages(inputs)).map((v) => [...v]);
            }""",
            indices,
        )
    )
    expected = model.encode_images([dataset.items[i].image() for i in indices])
    assert np.abs(got - expected).max() <= TOLERANCE
    assert np.abs(expected[0] - expected[1]).max() > 0.05


def test_page_reads_the_exporters_embeddings_and_tokens(live_page):
    page, model, dataset = live_page
    stored = np.array(page.evaluate("() => window.__live.data('shapes').text.map((v) => [...v])"))
    expected = model.encode_texts([it.text for it in dataset.items])
    assert np.abs(stored - expected).max() <= 1e-6
    tokenizer: WordTokenizer = model.tokenizer
    tricky = CAPTIONS + ["", "Ünïcode 😀 red!!", "red,blue;green"]
    ids = page.evaluate("(t) => t.map((s) => [...window.__live.tokenizer.encode(s).ids])", tricky)
    assert ids == tokenizer(tricky).tolist()
