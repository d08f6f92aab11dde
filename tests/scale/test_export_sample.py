"""An export larger than figure_pairs: metrics over every pair, figures over the stratified sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from exporter.config import parse_config
from exporter.contract import decode_array
from exporter.pipeline import run_export


def _embeddings_dataset(root: Path, n: int) -> Path:
    rng = np.random.default_rng(4)
    (root / "m1").mkdir(parents=True)
    labels = ["wide" if i % 4 == 0 else "common" for i in range(n)]
    rows = [json.dumps({"id": f"p{i}", "text": f"caption {i}", "label": labels[i]}) for i in range(n)]
    (root / "pairs.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    model = root / "m1"
    image = rng.normal(size=(n, 6)).astype(np.float32) + 1.0
    np.save(model / "image.npy", image)
    np.save(model / "text.npy", (image + rng.normal(size=(n, 6))).astype(np.float32) - 1.0)
    (model / "model.json").write_text(json.dumps({"name": "m1", "temperature": 0.05}), encoding="utf-8")
    return root


def test_metrics_cover_all_pairs_and_figures_the_sample(tmp_path: Path) -> None:
    root = _embeddings_dataset(tmp_path / "vectors", 48)
    config = parse_config(
        f"""
[export]
projections = ["pca"]
figure_pairs = 12
bootstrap = 50
clusters = 2
retrieval_k = 3

[[datasets]]
name = "many"
kind = "embeddings"
path = "{root.as_posix()}"

[[models]]
spec = "embeddings:{(root / "m1").as_posix()}"
""",
        tmp_path / "export.toml",
    )
    out = tmp_path / "data"
    run_export(config, out, cache_dir=tmp_path / "cache")
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
