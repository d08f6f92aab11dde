"""A precomputed augmentation series folder in the layout the Amumo import writes
(exporter/augment.py): two bases x two augmentations x 6 steps, each base in its
own random orthogonal frame, as recovered series are. Shared by the export and
browser tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def photo() -> Image.Image:
    rng = np.random.default_rng(3)
    x = np.linspace(0, 1, 48)
    base = np.stack([np.outer(x, 1 - x), np.outer(1 - x, x), np.outer(x, x)], axis=-1) * 255
    return Image.fromarray(np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8))


def series_folder(root: Path) -> tuple[Path, dict]:
    """Two bases x two augmentations x 6 steps; each base in its own random orthogonal frame."""
    rng = np.random.default_rng(9)
    steps, dim = 6, 4
    truth = {}
    meta = {
        "augmentations": [
            {
                "name": "blur",
                "label": "Blurred",
                "unit": "px",
                "values": list(np.arange(steps) * 0.64),
                "original": 0,
            },
            {
                "name": "hshift",
                "label": "HShift",
                "unit": "px",
                "values": list(np.linspace(-1, 1, steps)),
                "original": 3,
            },
        ],
        "bases": [
            {"id": "0", "text": "a castle", "image": "images/0.png", "credit": "DiffusionDB (CC0 1.0)"},
            {"id": "1", "text": "a cat", "image": "images/1.png", "credit": "DiffusionDB (CC0 1.0)"},
        ],
    }
    (root / "images").mkdir(parents=True)
    for base in meta["bases"]:
        photo().save(root / base["image"])
    (root / "series.json").write_text(json.dumps(meta), encoding="utf-8")
    (root / "CLIP").mkdir()
    (root / "CLIP" / "model.json").write_text(
        json.dumps({"name": "CLIP", "label": "CLIP RN50"}), encoding="utf-8"
    )
    for spec in meta["augmentations"]:
        (root / "CLIP" / spec["name"]).mkdir()
        for base in meta["bases"]:
            rows = rng.normal(size=(steps + 1, dim))
            rows /= np.linalg.norm(rows, axis=1, keepdims=True)
            truth[(spec["name"], base["id"])] = rows
            frame, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
            np.save(root / "CLIP" / spec["name"] / f"{base['id']}.npy", (rows @ frame).astype(np.float16))
    return root, truth


def own_series_config(arch: str, *, n: int, steps: int, bases: int = 3) -> str:
    """An export config whose open_clip model of `arch` (random weights) runs rotate and noise
    series on the first `bases` of `n` bundled sample photographs: the exporter's own series."""
    return f"""
[export]
projections = ["pca"]
augment_datasets = ["samples"]
augmentations = ["rotate", "noise"]
augment_steps = {steps}
augment_bases = {bases}
batch_size = 4

[[datasets]]
name = "samples"
kind = "samples"
n = {n}

[[models]]
spec = "open_clip:{arch}:random"
label = "Tiny"
"""
