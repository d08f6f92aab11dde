"""Write a complete, contract-conforming data export from synthetic embeddings.

Browser tests, site-build tests (tests/site/conftest.py) and
bench/bench_figures.py use it instead of running models:
N pairs of unit vectors grouped in clusters, with a clear modality gap (image
and text shifted apart along one direction), and every file of
docs/ARCHITECTURE.md computed from those vectors (similarities, projections,
retrieval, gap steps and landscape, zero-shot, training snapshots). The
projection methods are stand-ins (PCA on different components), labelled as
such in the dataset description: this is test data, not an analysis.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from exporter.contract import SCHEMA_VERSION, encode_array, write_bytes_atomic, write_json_atomic
from exporter.gap_files import write_gap_files

XSS_CAPTION = "<img src=x onerror=alert(1)> a caption that must stay text"
SHAPES = ["circle", "square", "triangle", "star", "cross", "ring", "bar", "dot"]
COLOURS = {"red": (200, 40, 40), "green": (40, 160, 60), "blue": (40, 80, 200), "orange": (230, 140, 20)}
TEMPLATES = ["{}", "a photo of a {}."]
DELTAS = np.arange(-5, 5.001, 0.25)


def slug(spec: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", spec.lower()).strip("-")


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def contrastive_loss(image: np.ndarray, text: np.ndarray, logit_scale: float) -> tuple[float, float]:
    logits = logit_scale * image @ text.T
    diag = np.diag(logits)
    return float(np.mean(_logsumexp(logits, 1) - diag)), float(np.mean(_logsumexp(logits, 0) - diag))


def recall(image: np.ndarray, text: np.ndarray) -> dict:
    sims = image @ text.T
    out = {}
    for name, s in (("i2t", sims), ("t2i", sims.T)):
        rank = (s > np.diag(s)[:, None]).sum(axis=1)
        out[name] = {f"r{k}": float(np.mean(rank < k)) for k in (1, 5, 10)}
    return out


def close_gap(image: np.ndarray, text: np.ndarray, fraction: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    gap = image.mean(0) - text.mean(0)
    return _normalise(image - fraction * gap / 2), _normalise(text + fraction * gap / 2)


def centroid_distance(image: np.ndarray, text: np.ndarray) -> float:
    return float(np.linalg.norm(image.mean(0) - text.mean(0)))


def _u1_similarity(stacked: np.ndarray, chunk: int = 1024) -> dict:
    """The stacked cosine matrix as u1 codes over [min, max], in row chunks (large N)."""
    kn = stacked.shape[0]
    lo, hi = np.inf, -np.inf
    for a in range(0, kn, chunk):
        block = stacked[a : a + chunk] @ stacked.T
        lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
    if kn <= 2048:
        return encode_array(stacked @ stacked.T, "u1", lo=lo, hi=hi)
    scale = (hi - lo) / 255 if hi > lo else 1.0
    codes = np.empty((kn, kn), dtype=np.uint8)
    for a in range(0, kn, chunk):
        block = stacked[a : a + chunk] @ stacked.T
        codes[a : a + chunk] = np.clip(np.rint((block - lo) / scale), 0, 255).astype(np.uint8)
    import base64

    return {
        "dtype": "u1",
        "shape": f"{kn},{kn}",
        "offset": lo,
        "scale": scale,
        "bdata": base64.b64encode(codes.tobytes()).decode("ascii"),
    }


def _pca(x: np.ndarray, components: tuple[int, int] = (0, 1), fit_on: np.ndarray | None = None) -> np.ndarray:
    ref = x if fit_on is None else fit_on
    mean = ref.mean(0)
    _, _, vt = np.linalg.svd(ref - mean, full_matrices=False)
    return (x - mean) @ vt[list(components)].T


def _thumbnail(shape: str, colour: tuple[int, int, int], index: int) -> bytes:
    img = Image.new("RGB", (64, 64), (245, 245, 240))
    draw = ImageDraw.Draw(img)
    shift = (index * 7) % 16
    box = (12 + shift // 2, 12, 52 - shift // 4, 52)
    if shape in ("circle", "ring", "dot"):
        draw.ellipse(box, fill=None if shape == "ring" else colour, outline=colour, width=5)
    elif shape == "triangle":
        draw.polygon([(32, 10), (54, 52), (10, 52)], fill=colour)
    elif shape in ("cross", "star"):
        draw.rectangle((28, 8, 36, 56), fill=colour)
        draw.rectangle((8, 28, 56, 36), fill=colour)
    else:
        draw.rectangle(box, fill=colour)
    draw.text((2, 52), str(index), fill=(0, 0, 0))
    out = io.BytesIO()
    img.save(out, format="WEBP", quality=70, method=0)
    return out.getvalue()


def _write_items(
    out: Path,
    name: str,
    n: int,
    labels: np.ndarray,
    captions: list[str],
    classes: list[str],
    unique_images: int,
    labelled: bool = True,
) -> None:
    folder = out / "datasets" / name
    items = []
    written: dict[int, str] = {}
    colour_names = list(COLOURS)
    for i in range(n):
        key = i % unique_images
        if key not in written:
            data = _thumbnail(classes[labels[i]], COLOURS[colour_names[key % len(colour_names)]], key)
            digest = hashlib.sha256(data).hexdigest()[:12]
            write_bytes_atomic(folder / "thumbs" / f"{digest}.webp", data)
            written[key] = f"thumbs/{digest}.webp"
        items.append(
            {
                "id": f"{name}-{i:05d}",
                "text": captions[i],
                "image": written[key],
                "label": classes[labels[i]] if labelled else None,
            }
        )
    write_json_atomic(
        folder / "items.json",
        {
            "dataset": name,
            "n": n,
            "modalities": ["image", "text"],
            "items": items,
            "classes": classes if labelled else None,
        },
        schema="items",
    )


def _embeddings(
    n: int, labels: np.ndarray, n_classes: int, gap: float, rng: np.random.Generator, dim: int = 24
):
    centres = rng.normal(size=(n_classes, dim)) * 1.2
    direction = _normalise(rng.normal(size=dim))
    # The gap is scaled to the centres' norm (about 1.2 * sqrt(dim)) so it is plainly visible.
    shift = gap * 3.0 * direction
    image = _normalise(centres[labels] + 0.45 * rng.normal(size=(n, dim)) + shift)
    text = _normalise(centres[labels] + 0.45 * rng.normal(size=(n, dim)) - shift)
    return image, text, centres, direction


def _metrics(image: np.ndarray, text: np.ndarray, logit_scale: float, zeroshot: dict | None) -> dict:
    li, lt = contrastive_loss(image, text, logit_scale)
    rec = recall(image, text)
    out = {
        "centroid_distance": centroid_distance(image, text),
        "loss_i2t": li,
        "loss_t2i": lt,
        "recall_i2t": rec["i2t"],
        "recall_t2i": rec["t2i"],
    }
    if zeroshot is not None:
        out["zeroshot"] = zeroshot
    return out


def write_fake_export(
    out_dir,
    n_pairs: int = 24,
    models=("pocket:infonce", "pocket:untrained"),
    seed: int = 31415,
    datasets=("shapes", "samples"),
    parts=("similarity", "projections", "retrieval", "gap", "zeroshot", "training"),
    gap_steps: int = 5,
    validate: bool | None = None,
    embed_dim: int = 24,
    training_dataset: str | None = None,
    curve_every: int = 25,
) -> dict:
    """Write manifest.json and every result file; returns the manifest.

    `datasets`: names, or dicts {"name", "n", "labels": bool, "kind"}; by
    default the first has `n_pairs` pairs, further ones 8, all labelled (an
    unlabelled dataset has no classes and no zero-shot results). `models`:
    names, or dicts {"name", ...manifest fields to override}; a model whose
    name contains "untrained" is written with trained=false unless "trained"
    is given. Trained models get a training record on `training_dataset`
    (default: the first dataset), with a loss curve every `curve_every` steps
    over 0..800. `parts` limits the result files (benchmarks
    at 5,000 pairs skip the heavy gap steps); the manifest then lists the
    missing files under the names of existing ones, so only use a reduced
    `parts` with figures that do not read them.
    """
    out = Path(out_dir)
    datasets = [d if isinstance(d, dict) else {"name": d} for d in datasets]
    models = [m if isinstance(m, dict) else {"name": m} for m in models]
    training_dataset = training_dataset or datasets[0]["name"]
    validate = n_pairs <= 1000 if validate is None else validate
    schema = (lambda name: name) if validate else (lambda name: None)
    rng = np.random.default_rng(seed)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "seed": seed,
        "datasets": [],
        "models": [],
        "results": [],
        "training": [],
    }
    data_per_dataset = {}
    for d_index, dspec in enumerate(datasets):
        dname = dspec["name"]
        n = dspec.get("n", n_pairs if d_index == 0 else 8)
        labelled = dspec.get("labels", True)
        n_classes = max(2, min(len(SHAPES), n // 3))
        classes = SHAPES[:n_classes]
        labels = (
            np.sort(rng.integers(0, n_classes, size=n)) if d_index else rng.integers(0, n_classes, size=n)
        )
        labels[:n_classes] = np.arange(n_classes)  # every class present
        colour_names = list(COLOURS)
        captions = [
            f"a {colour_names[i % len(colour_names)]} {classes[labels[i]]} number {i}" for i in range(n)
        ]
        if n > 1:
            captions[1] = XSS_CAPTION
        _write_items(out, dname, n, labels, captions, classes, unique_images=min(n, 300), labelled=labelled)
        manifest["datasets"].append(
            {
                "name": dname,
                "kind": dspec.get("kind", "shapes"),
                "n": n,
                "modalities": ["image", "text"],
                "items": f"datasets/{dname}/items.json",
                "has_labels": labelled,
                "description": f"synthetic test pairs ({n}); projections are PCA stand-ins",
            }
        )
        data_per_dataset[dname] = (n, labels, classes, labelled)

    for m_index, mspec in enumerate(models):
        spec = mspec["name"]
        mslug = slug(spec)
        trained = mspec.get("trained", "untrained" not in spec)
        logit_scale = 1 / 0.07
        manifest["models"].append(
            {
                "name": spec,
                "slug": mslug,
                "label": f"Model {spec.split(':')[-1]}",
                "family": "clip",
                "objective": "infonce",
                "weights": "random" if not trained else f"test-{m_index}",
                "temperature": 0.07,
                "logit_scale": logit_scale,
                "logit_bias": None,
                "embed_dim": embed_dim,
                "trained": trained,
                "description": "synthetic test model",
                **mspec,
            }
        )
        gap_size = [1.0, 0.35, 0.7, 0.5][m_index % 4]
        for dname, (n, labels, classes, labelled) in data_per_dataset.items():
            image, text, centres, direction = _embeddings(n, labels, len(classes), gap_size, rng, embed_dim)
            base = f"results/{mslug}/{dname}"
            files = {}
            stacked = np.concatenate([image, text])
            if "similarity" in parts:
                cross = image @ text.T
                order = np.argsort(labels, kind="stable")
                clusters, start = [], 0
                for c in range(len(classes)):
                    size = int((labels == c).sum())
                    if size:
                        clusters.append({"start": start, "size": size, "label": f"{classes[c]} shapes"})
                    start += size
                assert cross.shape == (n, n)
                write_json_atomic(
                    out / base / "similarity.json",
                    {
                        "model": spec,
                        "dataset": dname,
                        "n": n,
                        "modalities": ["image", "text"],
                        "matrix": _u1_similarity(stacked),
                        "order": order.tolist(),
                        "clusters": clusters,
                    },
                    schema=schema("similarity"),
                )
                files["similarity"] = f"{base}/similarity.json"
            closed_image, closed_text = close_gap(image, text)
            if "projections" in parts:
                closed = np.concatenate([closed_image, closed_text])
                points = {}
                for method, comps in (("pca", (0, 1)), ("umap", (1, 2)), ("tsne", (0, 2))):
                    points[method] = {
                        "original": encode_array(_pca(stacked, comps), "i2"),
                        "closed": encode_array(_pca(closed, comps, fit_on=stacked), "i2"),
                    }
                write_json_atomic(
                    out / base / "projections.json",
                    {
                        "methods": ["pca", "umap", "tsne"],
                        "variants": ["original", "closed"],
                        "points": points,
                    },
                    schema=schema("projections"),
                )
                files["projections"] = f"{base}/projections.json"
            rec = recall(image, text)
            if "retrieval" in parts:
                k = min(10, n)
                sims = image @ text.T
                retrieval = {"k": k, "recall": rec}
                for name, s in (("i2t", sims), ("t2i", sims.T)):
                    idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
                    retrieval[name] = {
                        "indices": encode_array(idx.astype(np.int64), "u2"),
                        "scores": encode_array(np.take_along_axis(s, idx, 1), "u1"),
                    }
                write_json_atomic(out / base / "retrieval.json", retrieval, schema=schema("retrieval"))
                files["retrieval"] = f"{base}/retrieval.json"
            if "gap" in parts:
                steps = []
                for fraction in np.linspace(0, 1, gap_steps):
                    si, st = close_gap(image, text, fraction) if fraction > 0 else (image, text)
                    li, lt = contrastive_loss(si, st, logit_scale)
                    r = recall(si, st)
                    steps.append(
                        {
                            "fraction": float(fraction),
                            "centroid_distance": centroid_distance(si, st),
                            "loss_i2t": li,
                            "loss_t2i": lt,
                            "recall_i2t": r["i2t"],
                            "recall_t2i": r["t2i"],
                            "matrix": _u1_similarity(np.concatenate([si, st])),
                        }
                    )
                gap_vec = image.mean(0) - text.mean(0)
                unit = gap_vec / np.linalg.norm(gap_vec)
                land = {"delta": [], "distance": [], "loss": [], "loss_i2t": [], "loss_t2i": []}
                for delta in DELTAS:
                    si, st = _normalise(image - delta / 2 * unit), _normalise(text + delta / 2 * unit)
                    li, lt = contrastive_loss(si, st, logit_scale)
                    land["delta"].append(float(delta))
                    land["distance"].append(float((si.mean(0) - st.mean(0)) @ unit))
                    land["loss"].append((li + lt) / 2)
                    land["loss_i2t"].append(li)
                    land["loss_t2i"].append(lt)
                li, lt = contrastive_loss(image, text, logit_scale)
                cli, clt = contrastive_loss(closed_image, closed_text, logit_scale)
                land["original"] = {
                    "delta": 0.0,
                    "distance": centroid_distance(image, text),
                    "loss": (li + lt) / 2,
                }
                land["closed"] = {
                    "delta": float(np.linalg.norm(gap_vec)),
                    "distance": float((closed_image.mean(0) - closed_text.mean(0)) @ unit),
                    "loss": (cli + clt) / 2,
                }
                write_gap_files(
                    out / base,
                    base,
                    {"gap_vector_norm": float(np.linalg.norm(gap_vec)), "steps": steps, "landscape": land},
                    validate=validate,
                )
                files["gap"] = f"{base}/gap.json"
            zs_metrics = zs_closed = None
            if "zeroshot" in parts and labelled:
                runs, zs_metrics, zs_closed = [], {}, {}
                for t_index, template in enumerate(TEMPLATES):
                    class_text = _normalise(
                        centres[: len(classes)]
                        - 3.0 * gap_size * direction
                        + (2.0 - 0.8 * t_index) * rng.normal(size=centres[: len(classes)].shape)
                    )
                    logits = 0.25 * logit_scale * image @ class_text.T  # softened so the bars differ
                    probs = np.exp(logits - _logsumexp(logits, 1)[:, None])
                    acc = float(np.mean(probs.argmax(1) == labels))
                    runs.append(
                        {
                            "template": template,
                            "accuracy": acc,
                            "probs": encode_array(probs, "u1", lo=0.0, hi=1.0),
                        }
                    )
                    zs_metrics[template] = acc
                    zs_closed[template] = float(np.mean((closed_image @ class_text.T).argmax(1) == labels))
                write_json_atomic(
                    out / base / "zeroshot.json",
                    {"classes": classes, "labels": labels.tolist(), "runs": runs},
                    schema=schema("zeroshot"),
                )
                files["zeroshot"] = f"{base}/zeroshot.json"
            for needed in ("similarity", "projections", "retrieval", "gap"):
                files.setdefault(needed, f"{base}/{needed}.json")
            metrics = _metrics(image, text, logit_scale, zs_metrics)
            pair_distance = float(np.linalg.norm(image - text, axis=1).mean())
            within = float(np.linalg.norm(image[:, None] - image[None], axis=-1).mean()) if n <= 1000 else 1.0
            img_cos = image @ image.T
            txt_cos = text @ text.T
            metrics.update(
                {
                    "pair_distance": pair_distance,
                    "relative_gap": pair_distance / within,
                    "separability": float(np.mean(((image - text) @ (image.mean(0) - text.mean(0))) > 0)),
                    "pair_cosine": float(np.mean(np.sum(image * text, 1))),
                    "cone_image": float((img_cos.sum() - n) / (n * n - n)),
                    "cone_text": float((txt_cos.sum() - n) / (n * n - n)),
                    "closed": _metrics(closed_image, closed_text, logit_scale, zs_closed),
                }
            )
            manifest["results"].append({"model": spec, "dataset": dname, "files": files, "metrics": metrics})
            if "training" in parts and dname == training_dataset and trained:
                _write_training(out, spec, mslug, dname, image, text, rng, logit_scale, schema, curve_every)
                manifest["training"].append(
                    {"model": spec, "dataset": dname, "file": f"training/{mslug}.json"}
                )
    write_json_atomic(out / "manifest.json", manifest, schema=schema("manifest"))
    return manifest


def _write_training(
    out: Path,
    spec: str,
    mslug: str,
    dname: str,
    image: np.ndarray,
    text: np.ndarray,
    rng: np.random.Generator,
    logit_scale: float,
    schema,
    curve_every: int = 25,
) -> None:
    n, dim = image.shape
    # Random encoders start as two narrow cones far apart; training pulls pairs together.
    cone_i = _normalise(rng.normal(size=dim)) * 3
    cone_t = _normalise(rng.normal(size=dim)) * 3
    init_i = _normalise(cone_i + 0.3 * rng.normal(size=(n, dim)))
    init_t = _normalise(cone_t + 0.3 * rng.normal(size=(n, dim)))
    steps = [0, 50, 100, 200, 400, 800]
    frames = []
    for step in steps:
        a = 1 - np.exp(-step / 200)
        frames.append((_normalise((1 - a) * init_i + a * image), _normalise((1 - a) * init_t + a * text)))
    everything = np.concatenate([np.concatenate(f) for f in frames])
    snapshots = []
    for step, (si, st) in zip(steps, frames, strict=True):
        li, lt = contrastive_loss(si, st, logit_scale)
        snapshots.append(
            {
                "step": step,
                "centroid_distance": centroid_distance(si, st),
                "loss": (li + lt) / 2,
                "points": encode_array(_pca(np.concatenate([si, st]), fit_on=everything), "i2"),
            }
        )
    curve_steps = list(range(0, 801, curve_every))
    curve = {"step": curve_steps, "loss": [], "centroid_distance": [], "temperature": []}
    for step in curve_steps:
        a = 1 - np.exp(-step / 200)
        si, st = _normalise((1 - a) * init_i + a * image), _normalise((1 - a) * init_t + a * text)
        li, lt = contrastive_loss(si, st, logit_scale)
        curve["loss"].append((li + lt) / 2)
        curve["centroid_distance"].append(centroid_distance(si, st))
        curve["temperature"].append(0.07 + 0.03 * np.exp(-step / 300))
    write_json_atomic(
        out / "training" / f"{mslug}.json",
        {"model": spec, "dataset": dname, "n": n, "curve": curve, "snapshots": snapshots},
        schema=schema("training"),
    )


if __name__ == "__main__":
    import sys
    import time

    t = time.perf_counter()
    write_fake_export(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 24)
    print(f"wrote {sys.argv[1]} in {time.perf_counter() - t:.2f} s")


# The export of the site-build tests (tests/site) and bench/bench_site.py. Their
# fixture article and assertions rely on these names, labels and sizes:
# samples has 6 labelled pairs (2 classes), shapes 10 unlabelled ones (so no
# zero-shot results), 3 models of embed_dim 8, pocket:siglip has logit_bias -10,
# random:clip has untrained weights and, like every untrained model, no
# training record; the pocket models' training records are on shapes, with
# curves of 11 points (steps 0, 80, ..., 800).
SITE_MODELS = (
    {"name": "pocket:infonce", "label": "InfoNCE (pocket)"},
    {"name": "pocket:siglip", "label": "SigLIP (pocket)", "objective": "sigmoid", "logit_bias": -10.0},
    {"name": "random:clip", "label": "Random CLIP", "trained": False},
)
SITE_DATASETS = (
    {"name": "samples", "n": 6, "kind": "samples"},
    {"name": "shapes", "n": 10, "labels": False},
)


def write_site_export(out_dir, seed: int = 31415) -> Path:
    """The small export the site-build tests build their articles against; returns its folder."""
    write_fake_export(
        out_dir,
        models=SITE_MODELS,
        datasets=SITE_DATASETS,
        seed=seed,
        embed_dim=8,
        training_dataset="shapes",
        curve_every=80,
    )
    return Path(out_dir)
