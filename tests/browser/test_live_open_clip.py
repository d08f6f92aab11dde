"""An open_clip text tower in the page: a tiny random open_clip (the session's TinyTestCLIP,
BPE vocabulary, context 16) exported with exporter/live, float and int8, and run by
onnxruntime-web in Chromium with the page's BPE tokenizer. The page's embedding of a caption
equals the exporter's within 1e-4 after normalisation.

int8 (exporter/live/towers.py: int8 weights with per-row scales, dequantised to float in the
graph, float arithmetic): the page equals onnxruntime (Python) running the same int8 file within
the same 1e-4 (measured: 2e-7), whatever else is in the batch; the int8 file differs from the
float model by its weight rounding, measured 7e-3 here, which must stay within
towers.INT8_TOLERANCE (0.05, what the export accepts). The earlier quantize_dynamic files
(activations quantised per batch) missed the first bound by 1e-2 and made a caption's vector
depend on its batch."""

from __future__ import annotations

import numpy as np
import pytest
from browser_support import FigurePage

from exporter.live.towers import INT8_TOLERANCE, MATCH_TOLERANCE, run_onnx
from headless.harness import SUBPATH, figure_config, prepare_root
from headless.server import serve
from tests.fake_export import write_fake_export
from tests.live_support import add_live_bundle, random_open_clip_model

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>open_clip live</title>
<link rel="icon" href="data:,"></head><body>
<script type="module">
import { openLiveModel } from "./static/js/live/model.js";
const manifest = await (await fetch("data/manifest.json")).json();
const base = new URL("data/", document.baseURI);
const ctx = { manifest, resolve: (rel) => new URL(rel, base) };
window.__live = {};
for (const model of manifest.models) window.__live[model.name] = await openLiveModel(ctx, model);
window.__ready = true;
</script></body></html>
"""

FLOAT, INT8, VIT = (
    "open_clip:TinyTestCLIP:random",
    "open_clip:TinyTestCLIP:int8",
    "open_clip:TinyTestCLIP:vit",
)

CAPTIONS = [
    "a photo of a dog",
    "Two giraffes standing next to each other in a field.",
    "café & crème brûlée — “delicious” 🍰",
    "THE CAT'S TOY ISN'T HERE",
    "a very long caption that goes on and on past the sixteen tokens of this tiny model's context",
    "123 456 7.89",
]


@pytest.fixture(scope="module")
def open_clip_site(tmp_path_factory, tiny_arch):
    root = tmp_path_factory.mktemp("oclive")
    data = root / "export"
    write_fake_export(data, 8, models=(FLOAT, INT8, VIT), datasets=("shapes",), parts=("similarity",))
    model = random_open_clip_model(tiny_arch, FLOAT)
    _, _, float_entry = add_live_bundle(data, FLOAT, model=model, live="text")
    _, _, int8_entry = add_live_bundle(data, INT8, model=model, live="text", live_int8=True)
    add_live_bundle(data, VIT, model=random_open_clip_model(tiny_arch, VIT, seed=9), live="both")
    top = prepare_root(root, data)
    (top / "live.html").write_text(PAGE, encoding="utf-8")
    with serve(root) as url:
        yield f"{url}{SUBPATH}/", top, data, model, float_entry, int8_entry


@pytest.fixture(scope="module")
def open_clip_page(browser, open_clip_site):
    base_url, top, data, model, float_entry, int8_entry = open_clip_site
    fp = FigurePage(browser, (base_url, top))
    fp.page.goto(base_url + "live.html")
    fp.page.wait_for_function("() => window.__ready === true", timeout=30000)
    yield fp.page, data, model
    try:
        fp.assert_clean()
    finally:
        fp.context.close()


def _page_vectors(page, name):
    return np.array(
        page.evaluate(
            "async ([n, t]) => (await window.__live[n].encodeTexts(t)).map((v) => [...v])", [name, CAPTIONS]
        )
    )


def test_float_text_tower_matches_the_exporter(open_clip_page):
    page, _, model = open_clip_page
    got = _page_vectors(page, FLOAT)
    expected = model.encode_texts(CAPTIONS)
    assert got.shape == expected.shape == (len(CAPTIONS), 32)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.abs(got - expected).max() <= MATCH_TOLERANCE
    assert np.abs(expected[0] - expected[1]).max() > 0.01  # the captions give different vectors


def test_page_tokens_are_open_clips(open_clip_page):
    page, _, model = open_clip_page
    ids = page.evaluate(
        "([n, t]) => t.map((s) => [...window.__live[n].tokenizer.encode(s).ids])", [FLOAT, CAPTIONS]
    )
    assert ids == model.tokenizer(CAPTIONS).tolist()
    assert len(ids[0]) == 16 and ids[4][-1] == 49407  # truncated, ending with <end_of_text>


def test_int8_text_tower_matches_onnxruntime_and_stays_near_the_float_model(open_clip_page):
    import json

    page, data, model = open_clip_page
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["live"] if e["model"] == INT8)
    bundle = json.loads((data / entry["file"]).read_text(encoding="utf-8"))
    tower = bundle["towers"]["text"]
    assert tower["int8"] and tower["file"].endswith("text.int8.onnx")
    got = np.array(
        page.evaluate(
            """async ([n, t]) => { const out = [];
                 for (const s of t) out.push([...(await window.__live[n].encodeTexts([s]))[0]]);
                 return out; }""",
            [INT8, CAPTIONS],
        )
    )
    tokens = model.tokenizer(CAPTIONS).numpy()
    same_file = np.concatenate(
        [run_onnx((data / tower["file"]).read_bytes(), tokens[i : i + 1]) for i in range(len(tokens))]
    )
    assert np.abs(got - same_file).max() <= MATCH_TOLERANCE
    batched = _page_vectors(page, INT8)  # all captions in one run: the same vectors
    assert np.abs(batched - got).max() <= 1e-5
    float_model = model.encode_texts(CAPTIONS)
    assert 0 < np.abs(got - float_model).max() <= INT8_TOLERANCE


def test_page_states_the_tokenizer_bytes_it_downloads(open_clip_page):
    import json

    page, data, _ = open_clip_page
    sizes = page.evaluate(f'() => window.__live["{FLOAT}"].bytes')
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["live"] if e["model"] == FLOAT)
    desc = json.loads((data / entry["file"]).read_text(encoding="utf-8"))["tokenizer"]
    on_disk = sum((data / desc[k]["file"]).stat().st_size for k in ("merges", "tables"))
    assert sizes["tokenizer"] == on_disk and desc["merges"]["bytes"] == 48894 * 4
    assert sizes["image"] == 0 and sizes["text"] == (data / desc_file(entry, data)).stat().st_size


def desc_file(entry, data):
    import json

    return json.loads((data / entry["file"]).read_text(encoding="utf-8"))["towers"]["text"]["file"]


def test_saliency_figure_names_attention_rollout_for_a_vit(browser, open_clip_site):
    base_url, top, data, *_ = open_clip_site
    fp = FigurePage(browser, (base_url, top))
    try:
        # The text-only model has no image tower, hence no maps: only the ViT is offered.
        page = fp.open(
            "saliency", [figure_config("saliency", "fig-sal", dataset="shapes", models=[FLOAT, VIT])]
        )
        page.wait_for_function("() => document.querySelector('#fig-sal .live-figure').dataset.cards")
        figure = page.locator("#fig-sal .live-figure")
        assert figure.get_attribute("data-method") == "attention-rollout"
        summary = page.locator("#fig-sal .live-gap").text_content()
        assert "attention rollout" in summary and "4×4 patches" in summary and "same map" in summary
        assert "attention rollout" in page.locator("#fig-sal .fig-note").text_content()
        assert page.locator("#fig-sal .live-gallery-card").count() == 8
        options = page.locator("#fig-sal select option").all_text_contents()
        assert options == ["each image (no text needed)"]
        fp.assert_clean()
    finally:
        fp.context.close()
