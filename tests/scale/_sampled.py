"""An export of 48 labelled pairs whose figures show a seeded sample of 12 (export and browser tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from exporter.config import parse_config
from exporter.pipeline import run_export


def embeddings_dataset(root: Path, n: int) -> Path:
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


def sampled_export(tmp_path: Path) -> tuple[Path, Path]:
    """(export folder, vectors folder) of 48 pairs whose figures show 12."""
    root = embeddings_dataset(tmp_path / "vectors", 48)
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
    return out, root
