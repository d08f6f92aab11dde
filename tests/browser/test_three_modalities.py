"""Three modalities in the page: the preview shows audio as a spectrogram with
its source link (never a file name), the slider reports every pair, and the
metrics table has a row per modality pair. Data: a real export of the
synthetic triplets (tests/triplets.py)."""

from __future__ import annotations

import json

import pytest
from browser_support import FigurePage

from exporter.contract import decode_array
from headless.harness import SUBPATH, figure_config, prepare_root
from headless.server import serve
from tests.triplets import N, export_triplets


@pytest.fixture(scope="module")
def served3(tmp_path_factory):
    root = tmp_path_factory.mktemp("served3")
    out, _ = export_triplets(root / "work")
    top = prepare_root(root / "site", out)
    with serve(root / "site") as url:
        yield f"{url}{SUBPATH}/", top


def test_three_modalities_preview_slider_and_table(browser, served3):
    fp = FigurePage(browser, served3)
    try:
        page = fp.open(
            "three",
            [
                figure_config("explorer", "fig-3", dataset="triplets"),
                figure_config("metrics", "fig-3m", dataset="triplets"),
                figure_config("landscape", "fig-3l", dataset="triplets", options={"pair": "text-audio"}),
                figure_config("retrieval", "fig-3r", dataset="triplets"),
            ],
        )
        # A cell in the audio (rows) x image (columns) quadrant.
        box = page.locator("#fig-3 .fig-matrix-overlay").bounding_box()
        cells = 3 * N
        row, col = 2 * N + 5, 7
        page.mouse.move(
            box["x"] + (col + 0.5) * box["width"] / cells, box["y"] + (row + 0.5) * box["height"] / cells
        )
        page.wait_for_function(
            "() => document.querySelector('#fig-3 .fig-preview-item').dataset.modality === 'audio'"
        )
        audio = page.locator("#fig-3 .fig-preview-item").nth(0)
        assert audio.locator("img").get_attribute("src").split("?")[0].endswith(".webp")
        assert audio.locator(".fig-preview-caption").text_content() == "AudioSet clip 5"
        assert audio.locator("a").get_attribute("href") == "https://www.youtube.com/watch?v=test5"
        image = page.locator("#fig-3 .fig-preview-item").nth(1)
        assert image.get_attribute("data-modality") == "image"
        assert image.locator(".fig-preview-credit").text_content() == "Frame 7 by a test author, CC BY 2.0"
        assert "png" not in page.locator("#fig-3 .fig-preview").text_content()  # never a file name

        # The slider's status names every pair.
        page.locator("#fig-3 input[type=range]").focus()
        page.keyboard.press("End")
        status = page.locator("#fig-3 .fig-status").text_content()
        for pair in ("image–text", "image–audio", "text–audio"):
            assert pair in status

        # The landscape of one chosen pair: its table shows that pair's original gap.
        gap = json.loads((served3[1] / "data/results/m3/triplets/gap.json").read_text())
        text_audio = next(p for p in gap["pairs"] if p["modalities"] == ["text", "audio"])
        cell = page.locator("#fig-3l tbody tr td").first.text_content()
        assert cell == f"{text_audio['landscape']['original']['distance']:.3f}"

        # Retrieval searches every modality pair both ways: audio by image shows spectrograms,
        # and the ranking is the exported one for that pair.
        directions = page.eval_on_selector_all(
            "#fig-3r select", "ss => ss.map(s => [...s.options].map(o => o.value))"
        )
        assert ["i2t", "t2i", "image>audio", "audio>image", "text>audio", "audio>text"] in directions
        search = page.locator("#fig-3r select").nth(directions.index(next(d for d in directions if "i2t" in d)))
        search.select_option("image>audio")
        page.wait_for_function("() => document.querySelector('#fig-3r .fig-recall').textContent.includes('image → audio')")
        retrieval = json.loads((served3[1] / "data/results/m3/triplets/retrieval.json").read_text())
        pair = next(p for p in retrieval["pairs"] if p["modalities"] == ["image", "audio"])
        shown = [int(i) for i in page.eval_on_selector_all("#fig-3r .fig-retrieval-hit", "hs => hs.map(h => h.dataset.index)")]
        expected = decode_array(pair["i2t"]["indices"]).reshape(N, retrieval["k"])[0][: len(shown)]  # query 0
        assert shown == [int(i) for i in expected]
        first_hit = page.locator("#fig-3r .fig-retrieval-hit img").first
        assert first_hit.get_attribute("alt").startswith("audio of item")

        # One table row per model and modality pair.
        pairs = page.eval_on_selector_all("#fig-3m tbody tr", "rows => rows.map(r => r.dataset.pair)")
        assert sorted(pairs) == ["image-audio", "image-text", "text-audio"]
    finally:
        try:
            fp.assert_clean()
        finally:
            fp.context.close()
