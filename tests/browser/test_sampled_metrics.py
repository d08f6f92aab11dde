"""The metrics table of a dataset larger than figure_pairs says what its numbers and the other figures cover."""

from __future__ import annotations

import functools
import json
import threading
from http.server import ThreadingHTTPServer

from headless.harness import figure_config, prepare_root
from headless.server import QuietHandler
from tests.browser.browser_support import FigurePage
from tests.scale._sampled import sampled_export


def test_metrics_note_names_all_pairs_and_the_figure_sample(browser, tmp_path) -> None:
    out, _ = sampled_export(tmp_path)
    statistics = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["results"][0]["statistics"]
    top = prepare_root(tmp_path / "served", out)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path / "served")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fp = FigurePage(browser, (f"http://127.0.0.1:{server.server_address[1]}/repo/", top))
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
        server.shutdown()
        server.server_close()
