"""The live figures in Chromium: a reader types, the model runs in the page, and what the
figure shows agrees with the same computation in Python on the exporter's vectors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from browser_support import FigurePage

from headless.harness import SUBPATH, figure_config, prepare_root
from headless.server import serve
from tests.fake_export import write_fake_export
from tests.live_support import add_live_bundle


@pytest.fixture(scope="module")
def live_served(tmp_path_factory):
    root = tmp_path_factory.mktemp("live-figures")
    data = root / "export"
    write_fake_export(data, 16, models=("pocket:infonce", "pocket:cyclip"), datasets=("shapes",))
    model, datasets, _ = add_live_bundle(data)
    top = prepare_root(root, data)
    with serve(root) as url:
        yield (f"{url}{SUBPATH}/", top), model, datasets[0]


@pytest.fixture(scope="module")
def ask_page(browser, live_served):
    served, model, dataset = live_served
    fp = FigurePage(browser, served)
    config = figure_config("ask", "fig-ask", dataset="shapes")
    page = fp.open("ask", [config])
    yield fp, page, model, dataset
    try:
        fp.assert_clean()
    finally:
        fp.context.close()


def _ask(page, text: str, answered: int) -> None:
    field = page.locator("#fig-ask .live-input")
    field.fill(text)
    field.press("Enter")  # keyboard only: no click needed
    page.wait_for_function(
        f"() => document.querySelector('#fig-ask .live-figure').dataset.answered === '{answered}'",
        timeout=60000,
    )


def test_typed_caption_ranks_images_as_the_exporter_would(ask_page):
    fp, page, model, dataset = ask_page
    # Only the model with encoders is offered; before a question nothing large is fetched.
    assert page.locator("#fig-ask select").count() == 0
    assert "MB" in page.locator("#fig-ask .live-note").text_content()
    caption = "a large blue square"
    _ask(page, caption, 1)
    query = model.encode_texts([caption])[0]
    images = model.encode_images([it.image() for it in dataset.items])
    cosines = images @ query
    expected = np.argsort(-cosines)[:8]
    rows = page.locator("#fig-ask .live-ranked-item")
    assert rows.count() == 8
    shown_scores = [float(rows.nth(i).locator(".live-score").text_content()) for i in range(8)]
    shown_captions = [rows.nth(i).locator(".live-caption").text_content() for i in range(8)]
    assert np.allclose(shown_scores, cosines[expected], atol=1.5e-3)
    assert shown_captions == [dataset.items[i].text for i in expected]
    # The gap for one query: distances to the two centroids, as numpy computes them.
    text_centroid = model.encode_texts([it.text for it in dataset.items]).mean(0)
    numbers = [float(x) for x in re.findall(r"\d+\.\d{3}", page.locator("#fig-ask .live-gap").text_content())]
    assert abs(numbers[0] - np.linalg.norm(query - text_centroid)) < 1.5e-3
    assert abs(numbers[1] - np.linalg.norm(query - images.mean(0))) < 1.5e-3
    # One projection per exact frame, each with the query's star.
    assert page.locator("#fig-ask .live-plot-wrap").count() == 2


def test_unknown_words_are_named_and_it_works_offline_after_load(ask_page):
    fp, page, model, _ = ask_page
    page.wait_for_function(
        "() => document.querySelector('#fig-ask .live-figure').dataset.preloaded === 'true'"
    )
    fp.context.set_offline(True)
    try:
        _ask(page, "a purple giraffe", 2)
    finally:
        fp.context.set_offline(False)
    assert "giraffe" in page.locator("#fig-ask .live-unknown").text_content()
    top = float(page.locator("#fig-ask .live-ranked-item .live-score").first.text_content())
    assert top <= 1.0


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _occlusion_peak(model, image, text_vector, patch=12, stride=4, grey=240):
    """The figure's occlusion saliency, in numpy + torch, for comparison."""
    import torch

    from exporter.live.bundle import _pixels

    rgba = np.asarray(image, dtype=np.uint8)
    size = rgba.shape[0]
    positions = [
        (x, y) for y in range(0, size - patch + 1, stride) for x in range(0, size - patch + 1, stride)
    ]
    copies = []
    for x, y in positions:
        c = rgba.copy()
        c[y : y + patch, x : x + patch] = grey
        copies.append(c)
    from PIL import Image

    batch = _pixels(
        [Image.fromarray(a) for a in [rgba, *copies]],
        [0.48145466, 0.4578275, 0.40821073],
        [0.26862954, 0.26130258, 0.27577711],
    )
    with torch.no_grad():
        vecs = torch.nn.functional.normalize(model.model.encode_image(batch), dim=-1).numpy()
    scores = vecs @ text_vector
    drop, count = np.zeros((size, size)), np.zeros((size, size))
    for (x, y), s in zip(positions, scores[1:], strict=True):
        drop[y : y + patch, x : x + patch] += scores[0] - s
        count[y : y + patch, x : x + patch] += 1
    saliency = np.maximum(0, drop / np.maximum(count, 1))
    at = int(np.argmax(saliency))
    return at % size + 0.5, at // size + 0.5


def test_descriptions_softmax_prefix_and_occlusion(browser, live_served):
    served, model, dataset = live_served
    fp = FigurePage(browser, served)
    try:
        page = fp.open("describe", [figure_config("describe", "fig-describe", dataset="shapes")])
        descriptions = ["a red circle", "a blue square", "a small green triangle"]
        page.locator("#fig-describe .live-pick").nth(3).click()
        page.locator("#fig-describe .live-descriptions").fill("\n".join(descriptions))
        page.locator("#fig-describe .live-ask").click()
        page.wait_for_function(
            "() => document.querySelector('#fig-describe .live-figure').dataset.answered === '1'",
            timeout=60000,
        )
        image = model.encode_images([dataset.items[3].image()])[0]
        cos = model.encode_texts(descriptions) @ image
        shown = [float(x) for x in page.locator("#fig-describe .live-cos").all_text_contents()]
        probs = [float(x) for x in page.locator("#fig-describe .live-prob").all_text_contents()]
        assert np.allclose(shown, cos, atol=1.5e-3)
        assert np.allclose(probs, _softmax(20.0 * cos), atol=1.5e-3)
        # The prefix, switched on: the model reads the prefixed descriptions.
        page.locator("#fig-describe .live-prefix").fill("a")
        page.locator("#fig-describe button.fig-toggle").press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#fig-describe .live-figure').dataset.answered === '2'",
            timeout=60000,
        )
        prefixed = [f"a {d}" for d in descriptions]
        assert page.locator("#fig-describe .live-desc").all_text_contents() == prefixed
        shown = [float(x) for x in page.locator("#fig-describe .live-cos").all_text_contents()]
        assert np.allclose(shown, model.encode_texts(prefixed) @ image, atol=1.5e-3)
        # Occlusion saliency in the page peaks where the same computation in torch peaks.
        page.locator("#fig-describe .live-prob-row button").first.click()
        page.wait_for_function(
            "() => document.querySelector('#fig-describe .live-figure').dataset.saliency", timeout=60000
        )
        note = page.locator("#fig-describe .live-figure .fig-note").first.text_content()
        assert "onnxruntime-web does not compute" in note
        x, y = (float(v) for v in re.search(r"peak \((\d+), (\d+)\)", note).groups())
        from exporter.live.bundle import _model_inputs, split_preprocess

        pil_part = split_preprocess(model.preprocess, "test")[0]
        (seen,) = _model_inputs(pil_part, [dataset.items[3]])
        px, py = _occlusion_peak(model, seen, model.encode_texts([prefixed[0]])[0])
        assert abs(x - round(px)) <= 1 and abs(y - round(py)) <= 1
        # A drawn scene is a new image: the model answers for it too.
        page.locator("#fig-describe .live-pick-draw").click()
        page.wait_for_function(
            "() => document.querySelector('#fig-describe .live-figure').dataset.answered === '3'",
            timeout=60000,
        )
        assert page.locator("#fig-describe .live-scene-object").count() == 2
        redrawn = [float(x) for x in page.locator("#fig-describe .live-cos").all_text_contents()]
        assert not np.allclose(redrawn, shown, atol=1e-3)
        fp.assert_clean()
    finally:
        fp.context.close()


def test_saliency_gallery_draws_the_exported_gradcam_maps(browser, live_served):
    from exporter.live.saliency import upsample

    served, model, dataset = live_served
    fp = FigurePage(browser, served)
    try:
        page = fp.open("saliency", [figure_config("saliency", "fig-saliency", dataset="shapes")])
        page.wait_for_function("() => document.querySelector('#fig-saliency .live-figure').dataset.cards")
        # The fake dataset has no object boxes: no pointing game, the captions' maps are shown.
        assert "no pointing game" in page.locator("#fig-saliency .live-gap").text_content()
        assert page.locator("#fig-saliency .live-gallery-card").count() == len(dataset.items)
        labels = page.locator("#fig-saliency .live-gallery-canvas").evaluate_all(
            "(cs) => cs.map((c) => c.getAttribute('aria-label'))"
        )
        assert labels[2].startswith(dataset.items[2].text)
        # The page upsamples the 8 x 8 maps exactly as the exporter's pointing game does.
        grid = np.random.default_rng(3).random((8, 8))
        got = page.evaluate(
            """async (g) => {
                const m = await import("./static/js/live/occlusion.js");
                return [...m.upsampleBilinear(Float32Array.from(g.flat()), 8, 64)];
            }""",
            grid.tolist(),
        )
        assert np.allclose(np.array(got).reshape(64, 64), upsample(grid[None], 64)[0], atol=1e-5)
        fp.assert_clean()
    finally:
        fp.context.close()


def test_heatmap_gets_the_typed_caption_as_a_new_row(browser, live_served):
    """Issue 14 §2: the caption's cosine with every column's item, under the matrix, in its
    column order; the model loads only when asked; the row follows the cluster sorting."""
    from export_reader import result_file

    served, model, dataset = live_served
    n = len(dataset.items)
    fp = FigurePage(browser, served)
    try:
        page = fp.open(
            "heatmap", [figure_config("heatmap", "fig-hm", dataset="shapes", models=["pocket:infonce"])]
        )
        page.wait_for_selector("#fig-hm .live-heatmap-row .live-input")
        assert page.locator("#fig-hm .live-row-strip").is_hidden()
        assert "MB" in page.locator("#fig-hm .live-heatmap-row .live-note").text_content()
        caption = "a small red circle"
        field = page.locator("#fig-hm .live-input")
        field.fill(caption)
        field.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#fig-hm .live-heatmap-row').dataset.answered === '1'",
            timeout=60000,
        )
        query = model.encode_texts([caption])[0]
        images = model.encode_images([it.image() for it in dataset.items])
        texts = model.encode_texts([it.text for it in dataset.items])
        expected = np.concatenate([images @ query, texts @ query])
        best = int(np.argmax(images @ query))
        summary = page.locator("#fig-hm .live-row-readout").text_content()
        first = float(re.findall(r"best images (-?\d+\.\d+)", summary)[0])
        assert abs(first - expected[best]) < 1.5e-3 and dataset.items[best].text in summary
        strip = page.locator("#fig-hm .live-row-canvas")
        matrix = page.locator("#fig-hm .fig-matrix-overlay").bounding_box()
        box = strip.bounding_box()
        assert abs(box["x"] - matrix["x"]) <= 1 and abs(box["width"] - matrix["width"]) <= 1
        assert page.evaluate("() => document.querySelector('#fig-hm .live-row-canvas').width") == 2 * n

        def hover(column: int) -> float:
            page.mouse.move(box["x"] + (column + 0.5) * box["width"] / (2 * n), box["y"] + box["height"] / 2)
            text = page.locator("#fig-hm .live-row-readout").text_content()
            return text, float(re.findall(r"cosine (-?\d+\.\d+)", text)[0])

        for column in (0, 3, n - 1, n + 2, 2 * n - 1):
            text, value = hover(column)
            assert abs(value - expected[column]) < 1.5e-3, (column, text)
            assert ("image" if column < n else "text") in text
        # Keyboard: focus the row, End then ArrowLeft reads the second-to-last column.
        strip.focus()
        page.keyboard.press("End")
        page.keyboard.press("ArrowLeft")
        text = page.locator("#fig-hm .live-row-readout").text_content()
        assert abs(float(re.findall(r"cosine (-?\d+\.\d+)", text)[0]) - expected[2 * n - 2]) < 1.5e-3
        # Sorting by clusters reorders the row's columns with the matrix's.
        order = result_file(served[1], "pocket:infonce", "similarity")["order"]
        page.locator("#fig-hm button", has_text="Sort by clusters").click()
        text, value = hover(0)
        assert abs(value - expected[order[0]]) < 1.5e-3
        assert f"image {order[0]} " in text
        fp.assert_clean()
    finally:
        fp.context.close()
