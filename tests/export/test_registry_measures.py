"""A measure added to the registry (analyses.metrics.MEASURES) reaches the exporter's manifest
with its value and presentation; nothing else needs editing (docs/ARCHITECTURE.md, recipes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exporter.analyses import metrics
from exporter.config import parse_config
from exporter.pipeline import run_export
from tests.analyses._synthetic import random_pairs
from tests.measure_example import FIRST_DIMENSION_GAP

N = 20


def _embeddings_folder(root: Path) -> tuple[np.ndarray, np.ndarray]:
    root.mkdir(parents=True)
    rows = [{"id": f"p{i}", "text": f"caption number {i}"} for i in range(N)]
    (root / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    image, text = random_pairs(N, 8, gap=0.6, noise=0.3, seed=2)
    model = root / "m"
    model.mkdir()
    np.save(model / "image.npy", image.astype(np.float32))
    np.save(model / "text.npy", text.astype(np.float32))
    (model / "model.json").write_text(json.dumps({"name": "toy", "logit_scale": 20.0}), encoding="utf-8")
    return image, text


def test_a_new_registry_measure_is_exported_with_its_presentation(tmp_path: Path, monkeypatch) -> None:
    new = FIRST_DIMENSION_GAP
    monkeypatch.setattr(metrics, "MEASURES", (*metrics.MEASURES, new))
    image, text = _embeddings_folder(tmp_path / "in")
    config = parse_config(
        f"""
[export]
projections = ["pca"]
gap_fractions = [0.0, 1.0]
[[datasets]]
name = "toy"
kind = "embeddings"
path = "{tmp_path / "in"}"
[[models]]
spec = "embeddings:{tmp_path / "in" / "m"}"
""",
        tmp_path / "c.toml",
    )
    run_export(config, tmp_path / "out", cache_dir=tmp_path / "cache")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    # The all-pairs statistics do not stream it, so it is taken on the figure sample (here: all pairs).
    unit_image = image / np.linalg.norm(image, axis=1, keepdims=True)
    unit_text = text / np.linalg.norm(text, axis=1, keepdims=True)
    expected = abs(unit_image[:, 0].mean() - unit_text[:, 0].mean())
    assert manifest["results"][0]["metrics"]["first_dimension_gap"] == pytest.approx(expected, abs=1e-5)
    entry = next(m for m in manifest["registry"]["measures"] if m["key"] == "first_dimension_gap")
    assert entry["label"] == "dim-0 gap" and entry["digits"] == 4 and entry["reads"] == ["first_dimension_gap"]
