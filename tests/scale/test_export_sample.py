"""An export larger than figure_pairs: metrics over every pair, figures over the stratified sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exporter.contract import decode_array

from ._sampled import sampled_export


@pytest.fixture(scope="module")
def sampled(tmp_path_factory) -> tuple[Path, Path]:
    return sampled_export(tmp_path_factory.mktemp("sampled"))


def test_metrics_cover_all_pairs_and_figures_the_sample(sampled) -> None:
    out, root = sampled
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    dataset = manifest["datasets"][0]
    assert (dataset["n"], dataset["n_all"]) == (12, 48)
    assert dataset["sample"] == {"n": 12, "stratified_by": "label"}
    items = json.loads((out / "datasets/many/items.json").read_text(encoding="utf-8"))
    assert [item["label"] for item in items["items"]].count("wide") == 3  # a quarter, as in the dataset
    result = manifest["results"][0]
    statistics = result["statistics"]
    assert statistics["n"] == 48 and statistics["resamples"] == 50
    low, high = statistics["intervals"]["centroid_distance"]
    assert low <= result["metrics"]["centroid_distance"] <= high
    assert statistics["closed_intervals"]["loss_i2t"][0] <= result["metrics"]["closed"]["loss_i2t"]
    similarity = json.loads((out / result["files"]["similarity"]).read_text(encoding="utf-8"))
    assert similarity["n"] == 12 and decode_array(similarity["matrix"]).shape == (24, 24)
    # The figure pairs are the sampled ones: their first row is the cosine of the first sampled pair.
    first = int(items["items"][0]["id"][1:])
    vectors = {m: np.load(root / "m1" / f"{m}.npy").astype(np.float64) for m in ("image", "text")}
    unit = {m: v / np.linalg.norm(v, axis=1, keepdims=True) for m, v in vectors.items()}
    matrix = decode_array(similarity["matrix"])
    assert abs(matrix[0, 12] - unit["image"][first] @ unit["text"][first]) < 0.02


def test_sampled_figures_say_so_and_the_metrics_table_does_not(sampled, tmp_path: Path) -> None:
    from sitebuild import build_site

    out, _ = sampled
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    model = manifest["results"][0]["model"]
    article = tmp_path / "article"
    article.mkdir()
    (article / "00-a.md").write_text(
        f"---\ntitle: T\n---\n\n# A\n\n::: figure heatmap {{#fig-h}}\ndataset: many\nmodel: {model}\nalt: Matrix.\n:::\n\n"
        "::: figure metrics {#fig-m}\ndataset: many\nalt: Table.\n:::\n",
        encoding="utf-8",
    )
    build_site(article, out, tmp_path / "_site")
    page = (tmp_path / "_site" / "index.html").read_text(encoding="utf-8")
    heatmap = page[page.index('id="fig-h"') : page.index('id="fig-m"')]
    assert "A sample: this figure shows 12 of the 48 pairs (a seeded sample, stratified by label)" in heatmap
    assert "the measures in the tables cover all 48" in heatmap
    assert page.count("A sample:") == 1  # the table's measures cover every pair


def test_a_result_heavier_than_the_web_budget_is_named_in_one_warning(tmp_path: Path, monkeypatch, capsys) -> None:
    from exporter import statistics

    monkeypatch.setattr(statistics, "WEB_BUDGET_BYTES", 1000)  # the 12 figure pairs' files weigh more
    out, _ = sampled_export(tmp_path)
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(lines) == 1
    assert "x many: the figure files weigh" in lines[0] and "for 12 pairs" in lines[0]
    assert "set figure_pairs lower (the statistics still cover every pair)" in lines[0]
    assert (out / "manifest.json").is_file()  # a warning, not a failure


def test_a_result_within_the_budget_says_nothing(sampled) -> None:
    from exporter.statistics import heavy_result_warning

    out, _ = sampled
    folder = out / "results"
    assert heavy_result_warning("m", "many", folder, 12) is None
