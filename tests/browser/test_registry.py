"""A measure added to the Python registry reaches the metrics table through the manifest alone."""

from __future__ import annotations

import json

import numpy as np

from exporter.analyses import metrics
from exporter.synthetic import write_fake_export
from tests.measure_example import FIRST_DIMENSION_GAP

MODELS = ["pocket:infonce", "pocket:untrained"]


def test_new_registry_measure_appears_in_the_metrics_table(figure_page, served, config, monkeypatch):
    new = FIRST_DIMENSION_GAP
    monkeypatch.setattr(metrics, "MEASURES", (*metrics.MEASURES, new))
    monkeypatch.setattr(metrics, "DEFAULT_COLUMNS", (*metrics.DEFAULT_COLUMNS, new.key))
    top = served[1]
    write_fake_export(top / "data-registry", 12, models=MODELS, datasets=("shapes",), parts=("similarity",))
    manifest = json.loads((top / "data-registry" / "manifest.json").read_text(encoding="utf-8"))
    expected = {r["model"]: r["metrics"]["first_dimension_gap"] for r in manifest["results"]}
    assert all(np.isfinite(v) for v in expected.values())

    fp = figure_page()
    page = fp.open("metrics-registry", [config("metrics", "fig-n", models=MODELS, data="data-registry")])
    headings = page.locator("#fig-n thead th button").all_text_contents()
    assert headings[-1] == "dim-0 gap"
    assert page.locator("#fig-n thead th button").last.get_attribute("title") == new.description
    for model, value in expected.items():
        cell = page.locator(f"#fig-n tbody tr[data-model='{model}'] td").last
        assert cell.text_content() == f"{value:.4f}"
    fp.assert_clean()
