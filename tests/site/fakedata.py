"""A small, schema-valid export for site-build tests and the site bench.

The numbers are computed (cosine similarities, PCA, top-k, recall, losses) from
seeded random embeddings with a built-in modality gap, so the files have the
shapes and ranges of a real export without running any model. Only numpy and
exporter.contract (no torch) are used.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from exporter.contract import encode_array, write_bytes_atomic, write_json_atomic

# name, label, trained
MODELS = [
    ("pocket:infonce", "InfoNCE (pocket)", True),
    ("pocket:siglip", "SigLIP (pocket)", True),
    ("random:clip", "Random CLIP", False),
]
DATASETS = {
    "samples": {"n": 6, "classes": ["animal", "object"], "kind": "samples"},
    "shapes": {"n": 10, "classes": None, "kind": "shapes"},
}


def _thumb(index: int) -> bytes:
    """A real (tiny) WebP thumbnail, one flat colour per item."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), ((index * 40) % 256, 120, 200)).save(buffer, "WEBP")
    return buffer.getvalue()


def slug(spec: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", spec.lower()).strip("-")


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _recall(sim: np.ndarray) -> dict[str, float]:
    ranks = np.argsort(-sim, axis=1)
    hits = ranks == np.arange(len(sim))[:, None]
    return {f"r{k}": float(hits[:, :k].any(axis=1).mean()) for k in (1, 5, 10)}


def _loss(sim: np.ndarray, scale: float) -> float:
    logits = sim * scale
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-np.diag(logp).mean())


def _pca(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def _embeddings(rng: np.random.Generator, n: int, dim: int, gap: float) -> tuple[np.ndarray, np.ndarray]:
    base = rng.normal(size=(n, dim))
    offset = np.zeros(dim)
    offset[0] = gap
    image = _normalise(base + rng.normal(scale=0.3, size=(n, dim)) + offset)
    text = _normalise(base + rng.normal(scale=0.3, size=(n, dim)) - offset)
    return image, text


def _core_metrics(image: np.ndarray, text: np.ndarray, scale: float) -> dict:
    sim = image @ text.T
    return {
        "centroid_distance": float(np.linalg.norm(image.mean(0) - text.mean(0))),
        "loss_i2t": _loss(sim, scale),
        "loss_t2i": _loss(sim.T, scale),
        "recall_i2t": _recall(sim),
        "recall_t2i": _recall(sim.T),
    }


def _close(image: np.ndarray, text: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    gap = image.mean(0) - text.mean(0)
    return _normalise(image - fraction * gap / 2), _normalise(text + fraction * gap / 2)


def make_export(out: Path, *, seed: int = 31415, models: list[tuple[str, str, bool]] | None = None) -> Path:
    """Write a complete small export into ``out`` (manifest, items, results, training)."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    models = models or MODELS
    manifest: dict = {
        "schema_version": 1,
        "seed": seed,
        "datasets": [],
        "models": [],
        "results": [],
        "training": [],
    }
    for name, spec in DATASETS.items():
        n = spec["n"]
        classes = spec["classes"]
        items = []
        for i in range(n):
            thumb = f"thumbs/{i:012x}.webp"
            write_bytes_atomic(out / "datasets" / name / thumb, _thumb(i))
            label = classes[i % len(classes)] if classes else None
            items.append(
                {"id": f"{name}-{i}", "text": f"caption {i} of <{name}> & co", "image": thumb, "label": label}
            )
        write_json_atomic(
            out / "datasets" / name / "items.json",
            {"dataset": name, "n": n, "modalities": ["image", "text"], "items": items, "classes": classes},
            schema="items",
        )
        manifest["datasets"].append(
            {
                "name": name,
                "kind": spec["kind"],
                "n": n,
                "modalities": ["image", "text"],
                "items": f"datasets/{name}/items.json",
                "has_labels": classes is not None,
                "description": f"{name} test pairs",
            }
        )
    for index, (model, label, trained) in enumerate(models):
        temperature = 0.07 if trained else 1.0
        scale = 1 / temperature
        manifest["models"].append(
            {
                "name": model,
                "slug": slug(model),
                "label": label,
                "family": "clip",
                "objective": "sigmoid" if "siglip" in model else "infonce",
                "weights": "test" if trained else "random",
                "temperature": temperature,
                "logit_scale": scale,
                "logit_bias": -10.0 if "siglip" in model else None,
                "embed_dim": 8,
                "trained": trained,
                "description": f"{label} for tests",
            }
        )
        for name, spec in DATASETS.items():
            n = spec["n"]
            image, text = _embeddings(rng, n, 8, gap=0.5 + 0.3 * index)
            stacked = np.vstack([image, text])
            base = f"results/{slug(model)}/{name}"
            sim = stacked @ stacked.T
            write_json_atomic(
                out / base / "similarity.json",
                {
                    "model": model,
                    "dataset": name,
                    "n": n,
                    "modalities": ["image", "text"],
                    "matrix": encode_array(sim, "u1"),
                    "order": list(range(n)),
                    "clusters": [{"start": 0, "size": n, "label": "all"}],
                },
                schema="similarity",
            )
            closed_image, closed_text = _close(image, text, 1.0)
            write_json_atomic(
                out / base / "projections.json",
                {
                    "methods": ["pca"],
                    "variants": ["original", "closed"],
                    "points": {
                        "pca": {
                            "original": encode_array(_pca(stacked), "i2"),
                            "closed": encode_array(_pca(np.vstack([closed_image, closed_text])), "i2"),
                        }
                    },
                },
                schema="projections",
            )
            k = min(10, n)
            cross = image @ text.T
            top_i2t = np.argsort(-cross, axis=1)[:, :k]
            top_t2i = np.argsort(-cross.T, axis=1)[:, :k]
            write_json_atomic(
                out / base / "retrieval.json",
                {
                    "k": k,
                    "i2t": {
                        "indices": encode_array(top_i2t, "u2"),
                        "scores": encode_array(np.take_along_axis(cross, top_i2t, 1), "u1"),
                    },
                    "t2i": {
                        "indices": encode_array(top_t2i, "u2"),
                        "scores": encode_array(np.take_along_axis(cross.T, top_t2i, 1), "u1"),
                    },
                    "recall": {"i2t": _recall(cross), "t2i": _recall(cross.T)},
                },
                schema="retrieval",
            )
            steps = []
            for fraction in (0.0, 0.5, 1.0):
                ci, ct = _close(image, text, fraction)
                steps.append(
                    {
                        "fraction": fraction,
                        **_core_metrics(ci, ct, scale),
                        "matrix": encode_array(np.vstack([ci, ct]) @ np.vstack([ci, ct]).T, "u1"),
                    }
                )
            deltas = np.arange(-1.0, 1.001, 0.5)
            landscape = {"delta": [], "distance": [], "loss": [], "loss_i2t": [], "loss_t2i": []}
            for delta in deltas:
                ci, ct = _close(image, text, float(delta))
                metrics = _core_metrics(ci, ct, scale)
                landscape["delta"].append(float(delta))
                landscape["distance"].append(metrics["centroid_distance"])
                landscape["loss_i2t"].append(metrics["loss_i2t"])
                landscape["loss_t2i"].append(metrics["loss_t2i"])
                landscape["loss"].append((metrics["loss_i2t"] + metrics["loss_t2i"]) / 2)
            landscape["original"] = {
                "delta": 0.0,
                "distance": landscape["distance"][2],
                "loss": landscape["loss"][2],
            }
            landscape["closed"] = {
                "delta": 1.0,
                "distance": landscape["distance"][4],
                "loss": landscape["loss"][4],
            }
            write_json_atomic(
                out / base / "gap.json",
                {
                    "gap_vector_norm": float(np.linalg.norm(image.mean(0) - text.mean(0))),
                    "steps": steps,
                    "landscape": landscape,
                },
                schema="gap",
            )
            files = {
                "similarity": f"{base}/similarity.json",
                "projections": f"{base}/projections.json",
                "retrieval": f"{base}/retrieval.json",
                "gap": f"{base}/gap.json",
            }
            core = _core_metrics(image, text, scale)
            metrics = {
                **core,
                "pair_distance": float(np.linalg.norm(image - text, axis=1).mean()),
                "relative_gap": core["centroid_distance"]
                / float(np.linalg.norm(image - text, axis=1).mean()),
                "separability": 1.0,
                "pair_cosine": float((image * text).sum(1).mean()),
                "cone_image": float((image @ image.T).mean()),
                "cone_text": float((text @ text.T).mean()),
                "closed": _core_metrics(closed_image, closed_text, scale),
            }
            if spec["classes"]:
                classes = spec["classes"]
                labels = [i % len(classes) for i in range(n)]
                class_text = _normalise(rng.normal(size=(len(classes), 8)))
                runs = []
                for template in ("{}", "a photo of a {}."):
                    logits = image @ class_text.T * scale
                    probs = np.exp(logits - logits.max(1, keepdims=True))
                    probs /= probs.sum(1, keepdims=True)
                    accuracy = float((probs.argmax(1) == np.array(labels)).mean())
                    runs.append(
                        {
                            "template": template,
                            "accuracy": accuracy,
                            "probs": encode_array(probs, "u1", lo=0.0, hi=1.0),
                        }
                    )
                write_json_atomic(
                    out / base / "zeroshot.json",
                    {"classes": classes, "labels": labels, "runs": runs},
                    schema="zeroshot",
                )
                files["zeroshot"] = f"{base}/zeroshot.json"
                metrics["zeroshot"] = {run["template"]: run["accuracy"] for run in runs}
            manifest["results"].append({"model": model, "dataset": name, "files": files, "metrics": metrics})
        if trained:
            n = DATASETS["shapes"]["n"]
            steps = [0, 50, 100]
            snapshots = []
            for step in steps:
                image, text = _embeddings(rng, n, 8, gap=1.0 - step / 200)
                snapshots.append(
                    {
                        "step": step,
                        "centroid_distance": float(np.linalg.norm(image.mean(0) - text.mean(0))),
                        "points": encode_array(_pca(np.vstack([image, text])), "i2"),
                    }
                )
            curve_steps = list(range(0, 101, 10))
            write_json_atomic(
                out / "training" / f"{slug(model)}.json",
                {
                    "model": model,
                    "dataset": "shapes",
                    "n": n,
                    "curve": {
                        "step": curve_steps,
                        "loss": [2.5 * np.exp(-s / 40) + 0.1 for s in curve_steps],
                        "centroid_distance": [1.0 - s / 200 for s in curve_steps],
                        "temperature": [0.07] * len(curve_steps),
                    },
                    "snapshots": snapshots,
                },
                schema="training",
            )
            manifest["training"].append(
                {"model": model, "dataset": "shapes", "file": f"training/{slug(model)}.json"}
            )
    write_json_atomic(out / "manifest.json", manifest, schema="manifest")
    write_json_atomic(out / "build-info.json", {"note": "test export"})
    return out
