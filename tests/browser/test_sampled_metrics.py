"""The metrics table of a dataset larger than figure_pairs says what its numbers and the other figures cover."""

from __future__ import annotations

import json

from headless.harness import figure_config, prepare_root
from headless.server import serve
from tests.browser.browser_support import FigurePage
from tests.scale._sampled import sampled_export


def test_metrics_note_names_all_pairs_and_the_figure_sample(browser, tmp_path) -> None:
    out, _ = sampled_export(tmp_path)
    statistics = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["results"][0]["statistics"]
    top = prepare_root(tmp_path / "served", out)
    with serve(tmp_path / "served") as url:
        fp = FigurePage(browser, (f"{url}repo/", top))
        try:
            page = fp.open("sampled-metrics", [figure_config("metrics", "fig-m", dataset="many")])
            note = page.locator("#fig-m .fig-note").text_content()
            assert "Measured over all 48 pairs of many." in note
            assert f"over {statistics['resamples']} resamples of the pairs" in note
            assert "The other figures show a seeded sample of 12 pairs, stratified by label" in note
            lo, hi = statistics["intervals"]["centroid_distance"]
            shown = page.locator("#fig-m tbody tr td .fig-interval").first.text_content().split("–")
            assert abs(float(shown[0]) - lo) <= 5e-4 + 1e-9 and abs(float(shown[1]) - hi) <= 5e-4 + 1e-9
            fp.assert_clean()
        finally:
            fp.context.close()
