"""The data contract's one writer: a typed function per data file, arrays in, a validated dict out.

The export pipeline and the test fixtures (exporter/synthetic.py) both build
every data file with these functions, so what the browser tests read is what
the exporter writes. Each builder computes from embeddings through
exporter.analyses, encodes arrays (contract.encode_array) and validates the
result against its JSON Schema; writing it is the caller's job
(contract.write_json_atomic; gap.json and its step files: gap_files.write_gap_files,
which validates each file). docs/ARCHITECTURE.md describes each file.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

from exporter.analyses import (
    clustering,
    gap_shift,
    metrics,
    projection,
    retrieval,
    similarity,
    zeroshot,
)
from exporter.analyses import modalities as kmodal
from exporter.contract import SCHEMA_VERSION, encode_array, load_schema, validate, validator_for

# The recall levels every recall dict of the contract carries.
RECALL_KEYS = ("r1", "r5", "r10")
_STEP_KEYS = ("fraction", "centroid_distance", "loss_i2t", "loss_t2i")
_LANDSCAPE_CURVES = ("delta", "distance", "loss", "loss_i2t", "loss_t2i")


@cache
def _narrowed(schema: str):
    """The schema file narrowed by the registries: measure keys and projection methods derive from them."""
    narrowed = copy.deepcopy(load_schema(schema))
    if schema == "manifest":
        computed = [m.key for m in metrics.MEASURES if m.compute is not None]
        metric_def = narrowed["$defs"]["metrics"]
        metric_def["required"] = sorted(set(metric_def["required"]) | set(computed))
        for key in computed:
            metric_def["properties"].setdefault(key, {"type": "number"})
    elif schema == "projections":
        keys = [m.key for m in projection.PROJECTION_METHODS]
        narrowed["properties"]["methods"]["items"] = {"enum": keys}
        narrowed["properties"]["points"]["propertyNames"] = {"enum": keys}
    return validator_for(narrowed)


def _checked(payload: dict, schema: str) -> dict:
    validate(payload, schema, where=f"the {schema} payload", validator=_narrowed(schema))
    return payload


def recall_values(values: Mapping[str, Any]) -> dict[str, float]:
    """A recall dict of the contract: r1, r5, r10 as floats."""
    return {key: float(values[key]) for key in RECALL_KEYS}


# ---------------------------------------------------------------- datasets


def item_entry(
    item_id: str,
    text: str,
    image: str | None,
    label: str | None,
    extra: Mapping[str, str] | None = None,
    media: Mapping[str, dict] | None = None,
) -> dict:
    """One row of items.json; `image` is the thumbnail path relative to items.json,
    `media` the previews of further modalities (exporter.media.item_media)."""
    entry: dict[str, Any] = {"id": item_id, "text": text, "image": image, "label": label}
    if extra:
        entry["extra"] = dict(extra)
    if media:
        entry["media"] = dict(media)
    return entry


def items_payload(
    dataset: str, modalities: Sequence[str], items: Sequence[dict], classes: Sequence[str] | None
) -> dict:
    """datasets/<dataset>/items.json from rows made by item_entry."""
    return _checked(
        {
            "dataset": dataset,
            "n": len(items),
            "modalities": list(modalities),
            "items": list(items),
            "classes": list(classes) if classes else None,
        },
        "items",
    )


def dataset_entry(
    name: str,
    kind: str,
    n: int,
    modalities: Sequence[str],
    has_labels: bool,
    description: str,
    skipped: Sequence[str] = (),
) -> dict:
    """The dataset's manifest entry."""
    entry = {
        "name": name,
        "kind": kind,
        "n": int(n),
        "modalities": list(modalities),
        "items": f"datasets/{name}/items.json",
        "has_labels": bool(has_labels),
        "description": description,
    }
    if skipped:
        entry["skipped"] = list(skipped)
    return entry


# ---------------------------------------------------------------- one (model, dataset) pair


def similarity_payload(
    model: str,
    dataset: str,
    modalities: Sequence[str],
    blocks: Sequence[np.ndarray],
    texts: Sequence[str],
    n_clusters: int,
) -> dict:
    """results/.../similarity.json: the stacked kN x kN cosine matrix and its cluster order
    (clustered on the cross-modal similarities, every modality pair with k > 2)."""
    matrix = similarity.stacked_similarity(blocks)
    n = blocks[0].shape[0]
    order, clusters = clustering.cluster_order(
        kmodal.cross_modal_similarity(matrix, n, len(blocks)), list(texts), n_clusters=n_clusters
    )
    return _checked(
        {
            "model": model,
            "dataset": dataset,
            "n": n,
            "modalities": list(modalities),
            "matrix": encode_array(matrix, "u1"),
            "order": [int(i) for i in order],
            "clusters": [
                {"start": int(c["start"]), "size": int(c["size"]), "label": str(c["label"])} for c in clusters
            ],
        },
        "similarity",
    )


def _retrieval_directions(first: np.ndarray, second: np.ndarray, k: int) -> dict:
    """Top-k lists first -> second ("i2t") and second -> first ("t2i")."""
    directions = {}
    for name, (query, gallery) in {"i2t": (first, second), "t2i": (second, first)}.items():
        indices, scores = retrieval.top_k(query, gallery, k)
        directions[name] = {
            "indices": encode_array(np.asarray(indices, dtype=np.int64), "u2"),
            "scores": encode_array(np.asarray(scores, dtype=np.float64), "u1"),
        }
    return directions


def retrieval_payload(
    blocks: Sequence[np.ndarray],
    names: Sequence[str],
    k: int,
    recall: Mapping[str, Mapping],
    pair_metrics: Mapping[str, Mapping] | None = None,
) -> dict:
    """results/.../retrieval.json: top-k of both directions; `recall` as the metrics measured it.

    With k > 2 modalities every further modality pair gets its own lists under
    "pairs" (first -> second is "i2t" there too), with the recall its pair
    metrics (pair_metric_values) measured, so the figure can search audio by image and so on.
    """
    k = min(k, blocks[0].shape[0])
    recall = {direction: recall_values(recall[direction]) for direction in ("i2t", "t2i")}
    payload = {"k": k, **_retrieval_directions(blocks[0], blocks[1], k), "recall": recall}
    if len(blocks) > 2:
        payload["pairs"] = [
            {
                "modalities": [names[a], names[b]],
                **_retrieval_directions(blocks[a], blocks[b], k),
                "recall": {
                    "i2t": recall_values(pair_metrics[kmodal.pair_name(names, a, b)]["recall_i2t"]),
                    "t2i": recall_values(pair_metrics[kmodal.pair_name(names, a, b)]["recall_t2i"]),
                },
            }
            for a, b in kmodal.modality_pairs(names)
            if (a, b) != (0, 1)
        ]
    return _checked(payload, "retrieval")


def gap_payload(
    blocks: Sequence[np.ndarray],
    names: Sequence[str],
    *,
    logit_scale: float,
    logit_bias: float | None,
    fractions: Sequence[float],
    deltas: np.ndarray,
) -> tuple[dict, dict]:
    """results/.../gap.json with each step's matrix inline (slider steps at `fractions`, loss
    landscape over `deltas`), and the metrics of the fully closed space (fraction 1) for the
    manifest's `closed`. gap_files.write_gap_files splits the matrices into their step files
    and validates every file it writes.

    blocks: one N x D block per modality. With k > 2 one slider closes every pairwise gap
    (analyses.modalities); each step and the closed metrics then list every pair, and each
    pair has its own landscape.
    """
    computed = list(fractions)
    if 1.0 not in computed:
        computed.append(1.0)  # the closed metrics come from this step
    if len(blocks) > 2:
        return _multimodal_gap_payload(blocks, names, computed, fractions, logit_scale, logit_bias, deltas)
    image, text = blocks
    steps = gap_shift.gap_steps(image, text, computed, logit_scale=logit_scale, logit_bias=logit_bias)
    written = []
    closed: dict[str, Any] = {}
    for fraction, step in zip(computed, steps, strict=True):
        core = _step_metrics(step)
        if fraction == 1.0:
            closed = {k: v for k, v in core.items() if k != "fraction"}
        if fraction in fractions:
            written.append(core | {"matrix": encode_array(step["similarity"], "u1")})
    landscape = gap_shift.loss_landscape(
        image, text, logit_scale=logit_scale, logit_bias=logit_bias, deltas=deltas
    )
    payload = {
        "gap_vector_norm": float(np.linalg.norm(gap_shift.gap_vector(image, text))),
        "steps": written,
        "landscape": _landscape(landscape),
    }
    return payload, closed


def _landscape(landscape: Mapping) -> dict:
    curves = {key: [float(v) for v in landscape[key]] for key in _LANDSCAPE_CURVES}
    points = {
        point: {key: float(landscape[point][key]) for key in ("delta", "distance", "loss")}
        for point in ("original", "closed")
    }
    return curves | points


def _pair_core(values: Mapping) -> dict:
    return {
        "centroid_distance": float(values["centroid_distance"]),
        "loss_i2t": float(values["loss_i2t"]),
        "loss_t2i": float(values["loss_t2i"]),
        "recall_i2t": recall_values(values["recall_i2t"]),
        "recall_t2i": recall_values(values["recall_t2i"]),
    }


def _multimodal_gap_payload(blocks, names, computed, fractions, logit_scale, logit_bias, deltas):
    steps = kmodal.gap_steps(blocks, names, computed, logit_scale=logit_scale, logit_bias=logit_bias)
    first = kmodal.pair_name(names, 0, 1)
    written, closed = [], {}
    for fraction, step in zip(computed, steps, strict=True):
        pairs = {name: _pair_core(values) for name, values in step["pairs"].items()}
        core = {"fraction": float(fraction), **pairs[first], "pairs": pairs}
        if fraction == 1.0:
            closed = {k: v for k, v in core.items() if k != "fraction"}
        if fraction in fractions:
            written.append(core | {"matrix": encode_array(step["similarity"], "u1")})
    landscapes = [
        {
            "modalities": entry["modalities"],
            "gap_vector_norm": float(entry["gap_vector_norm"]),
            "landscape": _landscape(entry["landscape"]),
        }
        for entry in kmodal.pair_landscapes(
            blocks, names, logit_scale=logit_scale, logit_bias=logit_bias, deltas=deltas
        )
    ]
    payload = {
        "gap_vector_norm": landscapes[0]["gap_vector_norm"],
        "steps": written,
        "landscape": landscapes[0]["landscape"],
        "pairs": landscapes,
    }
    return payload, closed


def _step_metrics(step: Mapping) -> dict:
    core = {key: float(step[key]) for key in _STEP_KEYS}
    core["recall_i2t"] = recall_values(step["recall_i2t"])
    core["recall_t2i"] = recall_values(step["recall_t2i"])
    return core


def closed_metrics(
    image: np.ndarray, text: np.ndarray, *, logit_scale: float, logit_bias: float | None
) -> dict:
    """The manifest's `closed` metrics alone (gap_payload returns them too, at no extra cost)."""
    (step,) = gap_shift.gap_steps(image, text, [1.0], logit_scale=logit_scale, logit_bias=logit_bias)
    return {k: v for k, v in _step_metrics(step).items() if k != "fraction"}


def project_gap_steps(
    blocks: Sequence[np.ndarray], methods: Sequence[str], fractions: Sequence[float], seed: int
) -> dict[str, list[np.ndarray]]:
    """kN x 2 points per method at each gap step, every step in the frame fitted on the original.

    blocks: one N x D block per modality; a step closes the image-text gap by its
    fraction (k > 2: every pairwise gap at once, analyses.kmodal.close_all).
    Methods that cannot place new points (t-SNE) get the original only
    (projection.project_steps).
    """
    n = blocks[0].shape[0]

    def moved(fraction: float) -> list[np.ndarray]:
        if fraction == 0:
            return list(blocks)
        if len(blocks) > 2:
            return kmodal.close_all(blocks, fraction)
        return list(gap_shift.close_gap(blocks[0], blocks[1], fraction))

    steps = [np.concatenate(moved(fraction)) for fraction in fractions]
    return {method: projection.project_steps(steps, method, n=n, seed=seed) for method in methods}


def projections_payload(points: Mapping[str, Sequence[np.ndarray]], fractions: Sequence[float]) -> dict:
    """results/.../projections.json: per method, kN x 2 points at each gap fraction (project_gap_steps).

    One quantisation per method over all its steps, so a point that stays put
    decodes to the same position at every step.
    """
    encoded = {}
    for method, steps in points.items():
        lo = min(float(np.min(xy)) for xy in steps)
        hi = max(float(np.max(xy)) for xy in steps)
        encoded[method] = [encode_array(xy, "i2", lo=lo, hi=hi) for xy in steps]
    payload = {"methods": list(points), "fractions": [float(f) for f in fractions], "points": encoded}
    return _checked(payload, "projections")


def zeroshot_payload(
    image: np.ndarray,
    text: np.ndarray,
    class_texts: Mapping[str, np.ndarray],
    labels: Sequence[int],
    classes: Sequence[str],
    *,
    logit_scale: float,
) -> tuple[dict, dict, dict]:
    """results/.../zeroshot.json, with accuracy per template on the original and the closed space.

    `class_texts`: template -> C x D embeddings of its class prompts. Closing
    moves images by -g/2 and texts by +g/2 (g from the dataset's pairs); class
    prompts are texts, so they move with the texts.
    """
    gap = gap_shift.gap_vector(image, text)
    closed_image, _ = gap_shift.close_gap(image, text, 1.0)
    truth = np.asarray(labels)
    runs, accuracy, closed_accuracy = [], {}, {}
    for template, class_text in class_texts.items():
        probs = zeroshot.classify(image, class_text, logit_scale=logit_scale)
        acc = float(zeroshot.accuracy(probs, truth))
        runs.append(
            {"template": template, "accuracy": acc, "probs": encode_array(probs, "u1", lo=0.0, hi=1.0)}
        )
        accuracy[template] = acc
        closed_probs = zeroshot.classify(
            closed_image, gap_shift.shift(class_text, gap / 2), logit_scale=logit_scale
        )
        closed_accuracy[template] = float(zeroshot.accuracy(closed_probs, truth))
    payload = {"classes": list(classes), "labels": [int(i) for i in labels], "runs": runs}
    return _checked(payload, "zeroshot"), accuracy, closed_accuracy


def metric_values(measured: Mapping[str, Any]) -> dict:
    """The manifest's metrics of one pair from measured values (analyses.metrics.gap_metrics or
    the all-pairs statistics): the same keys, with contract-shaped recall dicts."""
    values = dict(measured)
    values["recall_i2t"] = recall_values(measured["recall_i2t"])
    values["recall_t2i"] = recall_values(measured["recall_t2i"])
    return values


def result_metrics(
    image: np.ndarray, text: np.ndarray, *, logit_scale: float, logit_bias: float | None, seed: int
) -> dict:
    """The manifest's metrics of one pair measured on these embeddings (every registry measure)."""
    return metric_values(
        metrics.gap_metrics(image, text, logit_scale=logit_scale, logit_bias=logit_bias, seed=seed)
    )


def pair_metric_values(pairs: Mapping[str, Mapping]) -> dict:
    """k > 2 modalities: the metrics of every modality pair (analyses.modalities.pairwise_metrics)."""
    return {name: metric_values(values) for name, values in pairs.items()}


def result_entry(
    model: str,
    dataset: str,
    files: Mapping[str, str],
    metric_values: Mapping,
    statistics: Mapping | None = None,
) -> dict:
    """The pair's manifest entry: its files and metrics (with `closed` and, if any, `zeroshot`),
    and how the statistics were taken (exporter.statistics) where they were."""
    entry = {"model": model, "dataset": dataset, "files": dict(files), "metrics": dict(metric_values)}
    if statistics is not None:
        entry["statistics"] = dict(statistics)
    return entry


# ---------------------------------------------------------------- models and training


def model_entry(name: str, slug: str, label: str, info, provenance: Mapping | None = None) -> dict:
    """The model's manifest entry from its ModelInfo: what it is, what it can do (its declared
    capabilities, so the page can say why e.g. live queries are unavailable) and, for a model
    recovered from elsewhere, its provenance (the import's checks, citable in prose)."""
    entry = {
        "name": name,
        "slug": slug,
        "label": label,
        "family": info.family,
        "objective": info.objective,
        "weights": info.weights,
        "temperature": 1.0 / float(info.logit_scale),
        "logit_scale": float(info.logit_scale),
        "logit_bias": None if info.logit_bias is None else float(info.logit_bias),
        "embed_dim": int(info.embed_dim),
        "trained": bool(info.trained),
        "description": info.description,
        "capabilities": dataclasses.asdict(info.capabilities),
    }
    if provenance:
        entry["provenance"] = dict(provenance)
    return entry


def training_payload(
    model: str,
    dataset: str,
    curve: Mapping[str, Sequence[float]],
    steps: Sequence[int],
    snapshots_image: np.ndarray,
    snapshots_text: np.ndarray,
    seed: int,
) -> dict:
    """training/<slug>.json: the training curve and the display pairs at each snapshot step.

    snapshots_*: S x N x D raw encoder outputs; they are put on the unit sphere
    and projected with one PCA fitted on all snapshots, so motion is real.
    """
    snapshots_image = snapshots_image / np.linalg.norm(snapshots_image, axis=-1, keepdims=True)
    snapshots_text = snapshots_text / np.linalg.norm(snapshots_text, axis=-1, keepdims=True)
    stacked = [np.concatenate([img, txt]) for img, txt in zip(snapshots_image, snapshots_text, strict=True)]
    projected = projection.fit_transform_many(stacked, seed=seed)
    payload = {
        "model": model,
        "dataset": dataset,
        "n": int(snapshots_image.shape[1]),
        "curve": {
            "step": [int(s) for s in curve["step"]],
            "loss": [float(v) for v in curve["loss"]],
            "centroid_distance": [float(v) for v in curve["centroid_distance"]],
            "temperature": [float(v) for v in curve["temperature"]],
        },
        "snapshots": [
            {
                "step": int(step),
                "centroid_distance": metrics.centroid_distance(img, txt),
                "points": encode_array(points, "i2"),
            }
            for step, img, txt, points in zip(steps, snapshots_image, snapshots_text, projected, strict=True)
        ],
    }
    return _checked(payload, "training")


def training_entry(model: str, dataset: str, slug: str) -> dict:
    return {"model": model, "dataset": dataset, "file": f"training/{slug}.json"}


# ---------------------------------------------------------------- the manifest


def manifest_payload(
    seed: int,
    datasets: Sequence[dict],
    models: Sequence[dict],
    results: Sequence[dict],
    training: Sequence[dict],
    live: Sequence[dict] = (),
    augmentations: Sequence[dict] = (),
) -> dict:
    """manifest.json from the entries above (already merged with any kept output).

    It also carries the registries of gap measures and projection methods, with
    their labels: the browser's tables and menus are built from them.
    """
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "seed": seed,
        "registry": {**metrics.measures_registry(), "projections": projection.projections_registry()},
        "datasets": list(datasets),
        "models": list(models),
        "results": list(results),
        "training": list(training),
    }
    if augmentations:  # augmentation series (exporter.augment_export)
        manifest["augmentations"] = list(augmentations)
    if live:  # models whose encoders also run in the page (exporter/live)
        manifest["live"] = list(live)
    return _checked(manifest, "manifest")
