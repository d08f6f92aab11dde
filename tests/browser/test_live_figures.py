"""The live figures in Chromium: a reader types, the model runs in the page, and what the
figure shows agrees with the same computation in Python on the exporter's vectors."""

from __future__ import annotations

import functools
import re
import threading
from http.server import ThreadingHTTPServer

import numpy as np
import pytest
from browser_support import FigurePage, QuietHandler
from harness import SUBPATH, figure_config, prepare_root

from tests.fake_export import write_fake_export
from tests.live_support import add_live_bundle


@pytest.fixture(scope="module")
def live_served(tmp_path_factory):
    root = tmp_path_factory.mktemp("live-figures")
    data = root / "export"
    write_fake_export(data, 16, models=("pocket:infonce", "pocket:cyclip"), datasets=("shapes",))
    model, datasets, _ = add_live_bundle(data)
    top = prepare_root(root, data)
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield (f"http://127.0.0.1:{server.server_address[1]}/{SUBPATH}/", top), model, datasets[0]
    server.shutdown()
    server.server_close()


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
