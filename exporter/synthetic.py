"""Write a complete, contract-conforming data export from synthetic embeddings.

Browser tests, site-build tests (tests/site/conftest.py) and the benchmarks
(bench/bench_figures.py, bench/bench_site.py) use it instead of running models;
it lives in the exporter, not under tests/, so the benchmarks need no test code. It only makes
vectors: N pairs of unit vectors grouped in clusters, with a clear modality
gap (image and text shifted apart along one direction), class-prompt vectors
for zero-shot and training snapshots that drift from two narrow cones towards
the final pairs. Every data file is then built by exporter.payloads, the same
functions the exporter uses, so the files are real payloads of those vectors.
Only the UMAP and t-SNE points are stand-ins (fixed linear maps: fitting UMAP
costs a minute of JIT compilation), as the dataset description says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from exporter import payloads
from exporter.analyses import gap_shift, metrics
from exporter.config import model_slug
from exporter.contract import write_json_atomic
from exporter.gap_files import write_gap_files
from exporter.models.base import Capabilities, ModelInfo
from exporter.seeds import DEFAULT_SEED
from exporter.statistics import measure_pairs
from exporter.thumbnails import write_thumbnail

XSS_CAPTION = "<img src=x onerror=alert(1)> a caption that must stay text"
SHAPES = ["circle", "square", "triangle", "star", "cross", "ring", "bar", "dot"]
COLOURS = {"red": (200, 40, 40), "green": (40, 160, 60), "blue": (40, 80, 200), "orange": (230, 140, 20)}
TEMPLATES = ["{}", "a photo of a {}."]
DELTAS = np.arange(-5, 5.001, 0.25)
LOGIT_SCALE = 1 / 0.07
STATISTICS_RESAMPLES = 200  # fewer than an export's 1,000: the synthetic data only has to be shaped right


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _stand_in_projection(original: np.ndarray, components: tuple[int, int]):
    """A fixed linear map (two principal axes of `original`) standing in for UMAP / t-SNE."""
    mean = original.mean(0)
    _, _, vt = np.linalg.svd(original - mean, full_matrices=False)
    axes = vt[list(components)].T
    return lambda x: (x - mean) @ axes


def _thumbnail(shape: str, colour: tuple[int, int, int], index: int) -> Image.Image:
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
    return img


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
            image = _thumbnail(classes[labels[i]], COLOURS[colour_names[key % len(colour_names)]], key)
            written[key] = "thumbs/" + write_thumbnail(image, folder / "thumbs", 64)
        label = classes[labels[i]] if labelled else None
        items.append(payloads.item_entry(f"{name}-{i:05d}", captions[i], written[key], label))
    payload = payloads.items_payload(name, ["image", "text"], items, classes if labelled else None)
    write_json_atomic(folder / "items.json", payload)


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


def _model_info(spec: str, index: int, overrides: dict, embed_dim: int) -> ModelInfo:
    trained = overrides.get("trained", "untrained" not in spec)
    fields = {
        "family": "clip",
        "objective": "infonce",
        "weights": "random" if not trained else f"test-{index}",
        "logit_scale": LOGIT_SCALE,
        "logit_bias": None,
        "embed_dim": embed_dim,
        "trained": trained,
        "description": "synthetic test model",
    }
    fields.update({k: v for k, v in overrides.items() if k in fields})
    # Trained synthetic models come with a training record, as pocket models do.
    capabilities = Capabilities(encode_images=True, encode_texts=True, training_dynamics=fields["trained"])
    return ModelInfo(name=spec, cache_key=f"synthetic-{index}", capabilities=capabilities, **fields)


def write_fake_export(
    out_dir,
    n_pairs: int = 24,
    models=("pocket:infonce", "pocket:untrained"),
    seed: int = DEFAULT_SEED,
    datasets=("shapes", "samples"),
    parts=("similarity", "projections", "retrieval", "gap", "zeroshot", "training"),
    gap_steps: int = 5,
    embed_dim: int = 24,
    training_dataset: str | None = None,
    curve_every: int = 25,
) -> dict:
    """Write manifest.json and every result file; returns the manifest.

    `datasets`: names, or dicts {"name", "n", "labels": bool, "kind"}; by
    default the first has `n_pairs` pairs, further ones 8, all labelled (an
    unlabelled dataset has no classes and no zero-shot results). `models`:
    names, or dicts {"name", "label", ...ModelInfo fields to override}; a model
    whose name contains "untrained" is written with trained=false unless
    "trained" is given. Trained models get a training record on
    `training_dataset` (default: the first dataset), with a loss curve every
    `curve_every` steps over 0..800. `parts` limits the result files
    (benchmarks at 5,000 pairs skip the heavy gap steps); the manifest then
    lists the missing files under the names of existing ones, so only use a
    reduced `parts` with figures that do not read them.
    """
    out = Path(out_dir)
    datasets = [d if isinstance(d, dict) else {"name": d} for d in datasets]
    models = [m if isinstance(m, dict) else {"name": m} for m in models]
    training_dataset = training_dataset or datasets[0]["name"]
    rng = np.random.default_rng(seed)
    dataset_entries, model_entries, results, training = [], [], [], []
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
        dataset_entries.append(
            payloads.dataset_entry(
                dname,
                dspec.get("kind", "shapes"),
                n,
                ["image", "text"],
                labelled,
                f"synthetic test pairs ({n}); UMAP and t-SNE points are linear stand-ins",
            )
        )
        data_per_dataset[dname] = (n, labels, classes, captions, labelled)

    for m_index, mspec in enumerate(models):
        spec = mspec["name"]
        mslug = model_slug(spec)
        info = _model_info(spec, m_index, mspec, embed_dim)
        label = mspec.get("label", f"Model {spec.split(':')[-1]}")
        model_entries.append(payloads.model_entry(spec, mslug, label, info))
        gap_size = [1.0, 0.35, 0.7, 0.5][m_index % 4]
        for dname, (n, labels, classes, captions, labelled) in data_per_dataset.items():
            image, text, centres, direction = _embeddings(n, labels, len(classes), gap_size, rng, embed_dim)
            # Class prompts: near the class centres on the text side, noisier for the first template.
            class_texts = {
                template: _normalise(
                    centres
                    - 3.0 * gap_size * direction
                    + (2.0 - 0.8 * t_index) * rng.normal(size=centres.shape)
                )
                for t_index, template in enumerate(TEMPLATES)
            }
            metric_values = payloads.result_metrics(
                image, text, logit_scale=info.logit_scale, logit_bias=info.logit_bias, seed=seed
            )
            files = _write_pair(
                out / "results" / mslug / dname,
                f"results/{mslug}/{dname}",
                (spec, dname, info),
                image,
                text,
                captions,
                metric_values,
                parts,
                gap_steps,
                seed,
            )
            closed = files.pop("closed")
            if "zeroshot" in parts and labelled:
                payload, accuracy, closed_accuracy = payloads.zeroshot_payload(
                    image, text, class_texts, labels, classes, logit_scale=info.logit_scale
                )
                write_json_atomic(out / "results" / mslug / dname / "zeroshot.json", payload)
                files["zeroshot"] = f"results/{mslug}/{dname}/zeroshot.json"
                metric_values["zeroshot"] = accuracy
                closed["zeroshot"] = closed_accuracy
            metric_values["closed"] = closed
            # The all-pairs statistics entry, as the pipeline writes it (intervals for the metrics table).
            measured = measure_pairs(
                image, text, logit_scale=info.logit_scale, logit_bias=info.logit_bias,
                resamples=STATISTICS_RESAMPLES, confidence=0.95, seed=seed,
            )
            statistics = measured.entry(separability_n=n)
            results.append(payloads.result_entry(spec, dname, files, metric_values, statistics))
            if "training" in parts and dname == training_dataset and info.trained:
                _write_training(out, spec, mslug, dname, image, text, rng, seed, curve_every)
                training.append(payloads.training_entry(spec, dname, mslug))
    manifest = payloads.manifest_payload(seed, dataset_entries, model_entries, results, training)
    write_json_atomic(out / "manifest.json", manifest)
    return manifest


def _write_pair(folder, rel, pair, image, text, captions, measured, parts, gap_steps, seed) -> dict:
    """The result files of one (model, dataset) pair; returns files (+ "closed" metrics)."""
    spec, dname, info = pair
    files = {}

    def write(name: str, payload: dict) -> None:
        write_json_atomic(folder / f"{name}.json", payload)
        files[name] = f"{rel}/{name}.json"

    if "similarity" in parts:
        write(
            "similarity",
            payloads.similarity_payload(spec, dname, ["image", "text"], [image, text], captions, 10),
        )
    fractions = [float(f) for f in np.linspace(0, 1, gap_steps)]
    if "projections" in parts:
        points = payloads.project_gap_steps([image, text], ("pca",), fractions, seed)
        steps = [np.concatenate([image, text])] + [
            np.concatenate(gap_shift.close_gap(image, text, f)) for f in fractions[1:]
        ]
        # Stand-ins: UMAP maps every step through one fixed linear map, t-SNE has the original only.
        umap_like = _stand_in_projection(steps[0], (1, 2))
        points["umap"] = [umap_like(step) for step in steps]
        points["tsne"] = [_stand_in_projection(steps[0], (0, 2))(steps[0])]
        points |= payloads.project_gap_steps([image, text], ("gap",), fractions, seed)
        write("projections", payloads.projections_payload(points, fractions))
    if "retrieval" in parts:
        recall = {"i2t": measured["recall_i2t"], "t2i": measured["recall_t2i"]}
        write("retrieval", payloads.retrieval_payload([image, text], ["image", "text"], 10, recall))
    if "gap" in parts:
        gap, closed = payloads.gap_payload(
            [image, text],
            ["image", "text"],
            logit_scale=info.logit_scale,
            logit_bias=info.logit_bias,
            fractions=fractions,
            deltas=DELTAS,
        )
        write_gap_files(folder, rel, gap)
        files["gap"] = f"{rel}/gap.json"
    else:
        closed = payloads.closed_metrics(
            image, text, logit_scale=info.logit_scale, logit_bias=info.logit_bias
        )
    for needed in ("similarity", "projections", "retrieval", "gap"):
        files.setdefault(needed, f"{rel}/{needed}.json")
    files["closed"] = closed
    return files


def _write_training(
    out: Path,
    spec: str,
    mslug: str,
    dname: str,
    image: np.ndarray,
    text: np.ndarray,
    rng: np.random.Generator,
    seed: int,
    curve_every: int = 25,
) -> None:
    n, dim = image.shape
    # Random encoders start as two narrow cones far apart; training pulls pairs together.
    cone_i = _normalise(rng.normal(size=dim)) * 3
    cone_t = _normalise(rng.normal(size=dim)) * 3
    init_i = _normalise(cone_i + 0.3 * rng.normal(size=(n, dim)))
    init_t = _normalise(cone_t + 0.3 * rng.normal(size=(n, dim)))

    def at(step: int) -> tuple[np.ndarray, np.ndarray]:
        a = 1 - np.exp(-step / 200)
        return _normalise((1 - a) * init_i + a * image), _normalise((1 - a) * init_t + a * text)

    steps = [0, 50, 100, 200, 400, 800]
    frames = [at(step) for step in steps]
    curve_steps = list(range(0, 801, curve_every))
    curve = {"step": curve_steps, "loss": [], "centroid_distance": [], "temperature": []}
    for step in curve_steps:
        si, st = at(step)
        li, lt = metrics.contrastive_loss(si, st, logit_scale=LOGIT_SCALE)
        curve["loss"].append((li + lt) / 2)
        curve["centroid_distance"].append(metrics.centroid_distance(si, st))
        curve["temperature"].append(0.07 + 0.03 * np.exp(-step / 300))
    payload = payloads.training_payload(
        spec,
        dname,
        curve,
        steps,
        np.stack([f[0] for f in frames]),
        np.stack([f[1] for f in frames]),
        seed,
    )
    write_json_atomic(out / "training" / f"{mslug}.json", payload)


if __name__ == "__main__":
    import sys
    import time

    t = time.perf_counter()
    write_fake_export(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 24)  # python -m exporter.synthetic OUT [N]
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


def write_site_export(out_dir, seed: int = DEFAULT_SEED) -> Path:
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
