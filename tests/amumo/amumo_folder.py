"""Writes a small folder in the layout of Amumo's exported_data, quirks included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

N = 60
TOPICS = ["giraffe", "surfboard", "pizza", "bicycle", "elephant", "umbrella"]
COLOURS = ["red", "blue", "green", "small", "large", "old", "young", "bright", "dark", "wet"]
PLACES = ["street", "beach", "table", "field", "kitchen"]
MULTILINE_ITEM = 5  # its caption ends in a line break, as some COCO captions do


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def captions() -> list[str]:
    rng = np.random.default_rng(11)
    return [
        f"a {COLOURS[rng.integers(10)]} {TOPICS[i % 6]} near the {PLACES[rng.integers(5)]}" for i in range(N)
    ]


def true_embeddings(seed: int, d: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Items of one topic share a direction; images and texts sit on either side of a gap."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(6, d)))
    content = centres[np.arange(N) % 6] + 0.35 * rng.normal(size=(N, d))
    offset = np.zeros(d)
    offset[0] = 0.8
    image = _unit(content + offset + 0.25 * rng.normal(size=(N, d)))
    text = _unit(content - offset + 0.25 * rng.normal(size=(N, d)))
    return image, text


def amumo_loss_by_loops(image: np.ndarray, text: np.ndarray, scale: float) -> float:
    """Amumo's published loss, written out independently: i->t cross-entropy, batches of 50."""
    batches = []
    for start in range(0, len(image) - 49, 50):
        total = 0.0
        for i in range(start, start + 50):
            logits = [scale * float(image[i] @ text[j]) for j in range(start, start + 50)]
            top = max(logits)
            total += top + np.log(sum(np.exp(v - top) for v in logits)) - logits[i - start]
        batches.append(total / 50)
    return float(np.mean(batches))


def seed_permutation(n: int = N, seed: int = 31415) -> np.ndarray:
    np.random.seed(seed)
    return np.random.rand(n).argsort()


def write_folder(root: Path, models: dict[str, dict]) -> dict[str, np.ndarray]:
    """models: name -> {"seed", "scale", "rows": published row order (or None), "format": csv|npy,
    "gap_offset": added to the published gap}. Returns each model's true (aligned) Gram matrix."""
    (root / "similarities").mkdir(parents=True)
    (root / "images").mkdir()
    texts = captions()
    lines = [t + ("\n" if i == MULTILINE_ITEM else "") for i, t in enumerate(texts)]
    (root / "prompts.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for i in range(N):
        colour = tuple(int(v) for v in np.random.default_rng(i).integers(0, 255, 3))
        Image.new("RGB", (64, 48), colour).save(root / "images" / f"{i}.jpg")
    header = ",Unnamed: 0,emb_id,data_type,CLIP_PCA_x,CLIP_PCA_y"
    rows = [f"{r},{r},{r % N},{'image' if r < N else 'text'},0.1,0.2" for r in range(2 * N)]
    (root / "projections.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    truths = {}
    for name, spec in models.items():
        image, text = true_embeddings(spec["seed"])
        stacked = np.concatenate([image, text])
        truths[name] = stacked @ stacked.T
        order = spec.get("rows")
        if order is not None:  # published row k holds item order[k]
            image, text = image[order], text[order]
        gram = np.concatenate([image, text]) @ np.concatenate([image, text]).T
        if spec.get("format", "csv") == "npy":
            np.save(root / "similarities" / f"{name}.npy", gram.astype(np.float32))
        else:
            np.savetxt(root / "similarities" / f"{name}.csv", gram, delimiter=",", fmt="%.18e")
        meta = {
            "gap_distance": float(np.linalg.norm(image.mean(0) - text.mean(0))) + spec.get("gap_offset", 0.0),
            "loss": amumo_loss_by_loops(image, text, spec["scale"]),
            "cluster_sort_idcs": list(range(N)),
        }
        (root / "similarities" / f"{name}_meta_info.json").write_text(json.dumps(meta), encoding="utf-8")
    return truths
