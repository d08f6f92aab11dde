"""Config in, data files out: the orchestration of the export stage.

Everything is written into a staging folder beside the output and swapped in
at the end, so a failed export leaves the previous output untouched and no
half-written files behind.
"""

from __future__ import annotations

import functools
import json
import platform
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exporter import __version__, augment_export
from exporter.analyses import (
    clustering,
    gap_shift,
    metrics,
    modalities,
    projection,
    retrieval,
    similarity,
    zeroshot,
)
from exporter.config import ExportConfig, ModelConfig
from exporter.contract import (
    EXPORT_MARKER,
    EXPORT_MARKER_TEXT,
    SCHEMA_VERSION,
    encode_array,
    write_bytes_atomic,
    write_json_atomic,
)
from exporter.datasets.shared_options import check_templates_readable
from exporter.embedding_payload import ships_embeddings, without_lists, write_embedding_result
from exporter.errors import ExportError
from exporter.gap_files import write_gap_files
from exporter.machine import machine_facts
from exporter.media import item_media
from exporter.statistics import figure_view, measure_all_pairs, sample_entry, sample_rows
from exporter.thumbnails import write_thumbnail
from outfolder import claimed_output


@dataclass
class StageTimer:
    """Wall-clock time per stage, reported in build-info.json and by the benchmark."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass
class ExportReport:
    out_dir: Path
    results: list[tuple[str, str]]
    stage_seconds: dict[str, float]
    pairs_embedded: int
    skipped: dict[str, list[str]]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # looked up per call: tests capture stderr


def _recall(values: dict) -> dict[str, float]:
    return {key: float(values[key]) for key in ("r1", "r5", "r10")}


# ---------------------------------------------------------------- datasets


def _write_dataset(dataset, out: Path, thumbnail_px: int, skip_bad: bool) -> dict:
    """Write previews; thumbnails decode every image fully, so a bad one is found here,
    before any model runs, and (with --skip-bad) dropped for every model alike."""
    folder = out / "datasets" / dataset.name
    items = []
    kept = []
    for item in dataset.items:
        image_name = None
        if item.image is not None:
            try:
                image_name = "thumbs/" + write_thumbnail(item.image(), folder / "thumbs", thumbnail_px)
            except (ExportError, OSError, ValueError) as error:
                if not skip_bad:
                    raise ExportError(
                        f"dataset '{dataset.name}', item '{item.id}': cannot read its image ({error}); "
                        "fix or remove it, or pass --skip-bad"
                    ) from error
                dataset.skipped.append(f"{item.id}: {error}")
                continue
        kept.append(item)
        entry: dict[str, Any] = {"id": item.id, "text": item.text, "image": image_name, "label": item.label}
        media, extra = item_media(
            item.id, item.extra, tuple(dataset.modalities), None, folder / "thumbs", thumbnail_px
        )
        if extra:
            entry["extra"] = extra
        if media:
            entry["media"] = media
        items.append(entry)
    dataset.items[:] = kept
    if len(kept) < 2:
        raise ExportError(
            f"dataset '{dataset.name}': {len(kept)} item(s) left after skipping; a modality gap needs at least 2"
        )
    payload = {
        "dataset": dataset.name,
        "n": len(items),
        "modalities": list(dataset.modalities),
        "items": items,
        "classes": list(dataset.classes) if dataset.classes else None,
    }
    write_json_atomic(folder / "items.json", payload, schema="items")
    entry = {
        "name": dataset.name,
        "kind": dataset.kind,
        "n": len(items),
        "modalities": list(dataset.modalities),
        "items": f"datasets/{dataset.name}/items.json",
        "has_labels": bool(dataset.classes),
        "description": dataset.description,
    }
    skipped = list(getattr(dataset, "skipped", []) or [])
    if skipped:
        entry["skipped"] = skipped
    return entry


# ---------------------------------------------------------------- analyses


def _similarity_payload(model_name: str, dataset, blocks: list[np.ndarray], n_clusters: int) -> dict:
    matrix = similarity.stacked_similarity(blocks)
    n = blocks[0].shape[0]
    order, clusters = clustering.cluster_order(
        modalities.cross_modal_similarity(matrix, n, len(blocks)),
        [item.text for item in dataset.items],
        n_clusters=n_clusters,
    )
    return {
        "model": model_name,
        "dataset": dataset.name,
        "n": n,
        "modalities": list(dataset.modalities),
        "matrix": encode_array(matrix, "u1"),
        "order": [int(i) for i in order],
        "clusters": [
            {"start": int(c["start"]), "size": int(c["size"]), "label": str(c["label"])} for c in clusters
        ],
    }


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


def _retrieval_payload(
    blocks: list[np.ndarray], names: tuple[str, ...], k: int, recall: dict, pair_metrics: dict | None = None
) -> dict:
    """Top-k lists of both directions; `recall` is the one gap_metrics already measured.

    With k > 2 modalities every further modality pair gets its own lists under
    "pairs" (first -> second is "i2t" there too), with the recall its pair
    metrics measured, so the figure can search audio by image and so on.
    """
    k = min(k, blocks[0].shape[0])
    payload = {"k": k, **_retrieval_directions(blocks[0], blocks[1], k), "recall": recall}
    if len(blocks) > 2:
        payload["pairs"] = [
            {
                "modalities": [names[a], names[b]],
                **_retrieval_directions(blocks[a], blocks[b], k),
                "recall": {
                    "i2t": (pair_metrics or {})[modalities.pair_name(names, a, b)]["recall_i2t"],
                    "t2i": (pair_metrics or {})[modalities.pair_name(names, a, b)]["recall_t2i"],
                },
            }
            for a, b in modalities.modality_pairs(names)
            if (a, b) != (0, 1)
        ]
    return payload


_STEP_KEYS = ("fraction", "centroid_distance", "loss_i2t", "loss_t2i")


def _gap_payload(image, text, extra_blocks, info, options, names=("image", "text")) -> tuple[dict, dict]:
    """The close-the-gap slider steps, the loss landscape and the fully closed metrics."""
    fractions = list(options.gap_fractions)
    if 1.0 not in fractions:
        fractions.append(1.0)  # the closed metrics come from this step
    if extra_blocks:
        return _multimodal_gap_payload([image, text, *extra_blocks], names, fractions, info, options)
    steps = gap_shift.gap_steps(
        image, text, fractions, logit_scale=info.logit_scale, logit_bias=info.logit_bias
    )
    written = []
    closed: dict[str, Any] = {}
    for fraction, step in zip(fractions, steps, strict=True):
        core = {key: float(step[key]) for key in _STEP_KEYS}
        core["recall_i2t"] = _recall(step["recall_i2t"])
        core["recall_t2i"] = _recall(step["recall_t2i"])
        if fraction == 1.0:
            closed = {k: v for k, v in core.items() if k != "fraction"}
        if fraction in options.gap_fractions:
            matrix = step["similarity"]
            if extra_blocks:  # further modalities stay where they are
                matrix = similarity.stacked_similarity([step["image"], step["text"], *extra_blocks])
            written.append(core | {"matrix": encode_array(matrix, "u1")})
    deltas = np.arange(
        options.landscape_start, options.landscape_stop + options.landscape_step / 2, options.landscape_step
    )
    landscape = gap_shift.loss_landscape(
        image, text, logit_scale=info.logit_scale, logit_bias=info.logit_bias, deltas=deltas
    )
    curves = {
        key: [float(v) for v in landscape[key]]
        for key in ("delta", "distance", "loss", "loss_i2t", "loss_t2i")
    }
    points = {
        point: {key: float(landscape[point][key]) for key in ("delta", "distance", "loss")}
        for point in ("original", "closed")
    }
    payload = {
        "gap_vector_norm": float(np.linalg.norm(gap_shift.gap_vector(image, text))),
        "steps": written,
        "landscape": curves | points,
    }
    return payload, closed


def _pair_core(values: dict) -> dict:
    return {
        "centroid_distance": float(values["centroid_distance"]),
        "loss_i2t": float(values["loss_i2t"]),
        "loss_t2i": float(values["loss_t2i"]),
        "recall_i2t": _recall(values["recall_i2t"]),
        "recall_t2i": _recall(values["recall_t2i"]),
    }


def _multimodal_gap_payload(blocks, names, fractions, info, options) -> tuple[dict, dict]:
    """k > 2 modalities: one slider closes every pairwise gap (analyses.modalities.close_all);
    each step and the closed metrics list every pair; each pair has its own landscape."""
    steps = modalities.gap_steps(
        blocks, names, fractions, logit_scale=info.logit_scale, logit_bias=info.logit_bias
    )
    first = modalities.pair_name(names, 0, 1)
    written, closed = [], {}
    for fraction, step in zip(fractions, steps, strict=True):
        pairs = {name: _pair_core(values) for name, values in step["pairs"].items()}
        core = {"fraction": float(fraction), **pairs[first], "pairs": pairs}
        if fraction == 1.0:
            closed = {k: v for k, v in core.items() if k != "fraction"}
        if fraction in options.gap_fractions:
            written.append(core | {"matrix": encode_array(step["similarity"], "u1")})
    deltas = np.arange(
        options.landscape_start, options.landscape_stop + options.landscape_step / 2, options.landscape_step
    )
    landscapes = []
    for entry in modalities.pair_landscapes(
        blocks, names, logit_scale=info.logit_scale, logit_bias=info.logit_bias, deltas=deltas
    ):
        landscape = entry["landscape"]
        landscapes.append(
            {
                "modalities": entry["modalities"],
                "gap_vector_norm": float(entry["gap_vector_norm"]),
                "landscape": {
                    key: [float(v) for v in landscape[key]]
                    for key in ("delta", "distance", "loss", "loss_i2t", "loss_t2i")
                }
                | {
                    point: {key: float(landscape[point][key]) for key in ("delta", "distance", "loss")}
                    for point in ("original", "closed")
                },
            }
        )
    payload = {
        "gap_vector_norm": landscapes[0]["gap_vector_norm"],
        "steps": written,
        "landscape": landscapes[0]["landscape"],
        "pairs": landscapes,
    }
    return payload, closed


def _projection_payload(image, text, closed_image, closed_text, extra_blocks, methods, seed) -> dict:
    original = np.concatenate([image, text, *extra_blocks])
    if extra_blocks:  # k modalities: every gap closed at once
        closed = np.concatenate(modalities.close_all([image, text, *extra_blocks], 1.0))
    else:
        closed = np.concatenate([closed_image, closed_text])
    points: dict[str, dict] = {}
    for method in methods:
        if method == "gap":
            # One frame for both variants: closing the gap shows as motion along x.
            axes = projection.GapAxes(seed).fit(image, text)
            project = axes.transform
        else:
            project = functools.partial(projection.project, method=method, seed=seed)
        points[method] = {
            variant: encode_array(project(stacked), "i2")
            for variant, stacked in (("original", original), ("closed", closed))
        }
    return {"methods": list(methods), "variants": ["original", "closed"], "points": points}


def _zeroshot_payload(model, dataset, image, text, closed_image) -> tuple[dict, dict, dict]:
    """Zero-shot accuracy per prompt template, on the original and the gap-closed space.

    Closing moves images by -g/2 and texts by +g/2 (g from the dataset's pairs);
    class prompts are texts, so they move with the texts.
    """
    classes = list(dataset.classes)
    labels = [classes.index(item.label) for item in dataset.items]
    gap = gap_shift.gap_vector(image, text)
    runs, accuracy, closed_accuracy = [], {}, {}
    for template in dataset.zero_shot_templates:
        class_text = model.encode_texts([template.format(name) for name in classes])
        probs = zeroshot.classify(image, class_text, logit_scale=model.info.logit_scale)
        acc = float(zeroshot.accuracy(probs, np.asarray(labels)))
        runs.append(
            {"template": template, "accuracy": acc, "probs": encode_array(probs, "u1", lo=0.0, hi=1.0)}
        )
        accuracy[template] = acc
        closed_probs = zeroshot.classify(
            closed_image, gap_shift.shift(class_text, gap / 2), logit_scale=model.info.logit_scale
        )
        closed_accuracy[template] = float(zeroshot.accuracy(closed_probs, np.asarray(labels)))
    return {"classes": classes, "labels": labels, "runs": runs}, accuracy, closed_accuracy


# ---------------------------------------------------------------- training dynamics


def _training_payload(model_cfg: ModelConfig, dataset, dynamics_file: Path, seed: int) -> dict:
    with np.load(dynamics_file) as data:
        snapshots_image = data["image"]
        snapshots_text = data["text"]
        steps = data["steps"]
        curve = {
            "step": [int(s) for s in data["curve_step"]],
            "loss": [float(v) for v in data["loss"]],
            "centroid_distance": [float(v) for v in data["centroid_distance"]],
            "temperature": [float(v) for v in data["temperature"]],
        }
    n = snapshots_image.shape[1]
    if n != len(dataset.items):
        raise ExportError(
            f"training snapshots of {model_cfg.spec} hold {n} pairs but dataset '{dataset.name}' has "
            f"{len(dataset.items)}; set n = {n} on that dataset or choose another training_dataset"
        )
    # Snapshots are raw encoder outputs: put them on the unit sphere, as the analyses assume.
    snapshots_image = snapshots_image / np.linalg.norm(snapshots_image, axis=-1, keepdims=True)
    snapshots_text = snapshots_text / np.linalg.norm(snapshots_text, axis=-1, keepdims=True)
    stacked = [np.concatenate([img, txt]) for img, txt in zip(snapshots_image, snapshots_text, strict=True)]
    projected = projection.fit_transform_many(stacked, seed=seed)
    return {
        "model": model_cfg.spec,
        "dataset": dataset.name,
        "n": int(n),
        "curve": curve,
        "snapshots": [
            {
                "step": int(step),
                "centroid_distance": metrics.centroid_distance(img, txt),
                "points": encode_array(points, "i2"),
            }
            for step, img, txt, points in zip(steps, snapshots_image, snapshots_text, projected, strict=True)
        ],
    }


# ---------------------------------------------------------------- the export


def _model_entry(cfg: ModelConfig, info) -> dict:
    return {
        "name": cfg.spec,
        "slug": cfg.slug,
        "label": cfg.label,
        "family": info.family,
        "objective": info.objective,
        "weights": info.weights,
        "temperature": 1.0 / float(info.logit_scale),
        "logit_scale": float(info.logit_scale),
        "logit_bias": None if info.logit_bias is None else float(info.logit_bias),
        "embed_dim": int(info.embed_dim),
        "trained": bool(info.trained),
        "description": info.description,
    }


def _export_pair(
    model, cfg: ModelConfig, full, dataset, out: Path, options, timer, cache_dir, skip_bad
) -> dict:
    """Statistics over every pair of `full`; figure files over `dataset`, its figure sample."""
    from exporter.embed import embed_dataset

    with timer.stage("embed"):
        if options.engine == "ray":
            from exporter.distributed import embed_dataset_ray, model_factory

            vectors = embed_dataset_ray(
                model,
                full,
                factory=model_factory(cfg.spec, cache_dir=cache_dir, seed=options.seed),
                cache_dir=cache_dir,
                batch_size=options.batch_size,
                skip_bad=skip_bad,
                address=options.ray_address,
                workers=options.ray_workers,
                gpus=options.ray_gpus,
            )
        else:
            vectors = embed_dataset(
                model, full, cache_dir=cache_dir, batch_size=options.batch_size, skip_bad=skip_bad
            )
    with timer.stage("statistics"):
        statistics = measure_all_pairs(vectors, full, model.info, options)
    rows = sample_rows(full, dataset)
    blocks = [np.asarray(vectors[m][rows], dtype=np.float64) for m in dataset.modalities]
    image, text, extra = blocks[0], blocks[1], blocks[2:]
    info = model.info
    folder = out / "results" / cfg.slug / dataset.name
    rel = f"results/{cfg.slug}/{dataset.name}"
    files = {}
    embedded = ships_embeddings(len(dataset.items), options)  # embeddings.json instead of matrices
    with timer.stage("similarity"):
        if embedded:
            files |= write_embedding_result(folder, rel, cfg.spec, dataset, blocks, options.clusters)
        else:
            write_json_atomic(
                folder / "similarity.json",
                _similarity_payload(cfg.spec, dataset, blocks, options.clusters),
                schema="similarity",
            )
            files["similarity"] = f"{rel}/similarity.json"
    with timer.stage("metrics"):
        measured = dict(statistics.values)
        # A classifier per figure sample: separability is the one measure not taken over every pair.
        measured["separability"] = metrics.separability(image, text, seed=options.seed)
        metric_values = dict(measured)
        metric_values["recall_i2t"] = _recall(measured["recall_i2t"])
        metric_values["recall_t2i"] = _recall(measured["recall_t2i"])
        if extra:  # k > 2 modalities: every pair measured too
            metric_values["pairs"] = {
                name: values
                | {"recall_i2t": _recall(values["recall_i2t"]), "recall_t2i": _recall(values["recall_t2i"])}
                for name, values in modalities.pairwise_metrics(
                    blocks,
                    dataset.modalities,
                    logit_scale=info.logit_scale,
                    logit_bias=info.logit_bias,
                    seed=options.seed,
                ).items()
            }
        recall = {"i2t": metric_values["recall_i2t"], "t2i": metric_values["recall_t2i"]}
        retrieval_payload = _retrieval_payload(
            blocks, tuple(dataset.modalities), options.retrieval_k, recall, metric_values.get("pairs")
        )
        if embedded:
            retrieval_payload = without_lists(retrieval_payload)
        write_json_atomic(folder / "retrieval.json", retrieval_payload, schema="retrieval")
        files["retrieval"] = f"{rel}/retrieval.json"
    with timer.stage("gap"):
        gap_payload, sample_closed = _gap_payload(
            image, text, extra, info, options, tuple(dataset.modalities)
        )
        # k > 2 modalities: "closed" means every gap closed at once (analyses.modalities), measured on
        # the figure sample with every pair; two modalities: the full-set statistics.
        closed = sample_closed if extra else dict(statistics.closed)
        write_gap_files(folder, rel, gap_payload, matrices=not embedded)  # gap.json (+ one file per step's matrix)
        files["gap"] = f"{rel}/gap.json"
    # The fully closed space, shared by the projections and zero-shot.
    closed_image, closed_text = gap_shift.close_gap(image, text, 1.0)
    with timer.stage("projections"):
        write_json_atomic(
            folder / "projections.json",
            _projection_payload(
                image, text, closed_image, closed_text, extra, options.projections, options.seed
            ),
            schema="projections",
        )
        files["projections"] = f"{rel}/projections.json"
    # Zero-shot needs at least two classes to choose between (a small subset may hold one).
    if (
        dataset.classes
        and len(dataset.classes) >= 2
        and hasattr(model, "encode_texts")
        and info.family != "precomputed"
    ):
        with timer.stage("zeroshot"):
            payload, accuracy, closed_accuracy = _zeroshot_payload(model, dataset, image, text, closed_image)
            write_json_atomic(folder / "zeroshot.json", payload, schema="zeroshot")
            files["zeroshot"] = f"{rel}/zeroshot.json"
            metric_values["zeroshot"] = accuracy
            closed["zeroshot"] = closed_accuracy
    metric_values["closed"] = closed
    return {
        "model": cfg.spec,
        "dataset": dataset.name,
        "files": files,
        "metrics": metric_values,
        "statistics": statistics.entry(separability_n=len(dataset.items)),
    }


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "exporter": __version__, "numpy": np.__version__}
    for name in ("torch", "open_clip", "sklearn", "umap"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = str(getattr(module, "__version__", "?"))
    return versions


def run_export(
    config: ExportConfig,
    out_dir: Path,
    *,
    cache_dir: Path,
    device: str = "auto",
    only: set[str] | None = None,
    skip_bad: bool = False,
) -> ExportReport:
    """Run every (model, dataset) pair of the config and write the data folder.

    `only` restricts the run to the named models (specs or slugs) and datasets;
    results of other pairs already in out_dir are kept.
    """
    from exporter.datasets.registry import load_dataset
    from exporter.live.bundle import export_live, kept_live_entries  # imports torch
    from exporter.models.registry import resolve_model

    out_dir = Path(out_dir)
    options = config.options
    timer = StageTimer()
    output = claimed_output(
        out_dir,
        marker=EXPORT_MARKER,
        marker_text=EXPORT_MARKER_TEXT,
        tool="the exporter",
        protected=(config.path, Path(cache_dir)),
    )
    with output as staging:
        selection = _Selection.from_only(only, config)
        kept_results, kept_training, kept_models, kept_datasets = _carry_over(out_dir, staging, only)
        kept_augmentations = _kept_augmentations(out_dir, only)
        selected_datasets = [d for d in config.datasets if selection.dataset(d.name)]
        datasets = {}
        dataset_entries = []
        for dataset_cfg in selected_datasets:
            with timer.stage("datasets"):
                _say(f"dataset {dataset_cfg.name} ({dataset_cfg.kind})")
                dataset = load_dataset(dataset_cfg, seed=options.seed, skip_bad=skip_bad)
                shown = figure_view(dataset, options)
                datasets[dataset.name] = (dataset, shown)
                dataset_entries.append(
                    sample_entry(
                        _write_dataset(shown, staging, options.thumbnail_px, skip_bad), dataset, shown
                    )
                )
        results, training, model_entries, augmentations, live_entries = [], [], [], [], []
        pairs_embedded = 0
        for model_cfg in config.models:
            if not selection.model(model_cfg):
                continue
            if datasets and not any(model_cfg.datasets is None or n in model_cfg.datasets for n in datasets):
                # None of its datasets in this run (--only DATASET): its entries and files are kept as they were.
                continue
            with timer.stage("models"):
                _say(f"model {model_cfg.spec}")
                model = resolve_model(model_cfg.spec, device=device, cache_dir=cache_dir, seed=options.seed)
            check_templates_readable(
                model.info,
                [full for n, (full, _) in datasets.items() if model_cfg.datasets is None or n in model_cfg.datasets],
            )
            model_entries.append(_model_entry(model_cfg, model.info))
            if getattr(model, "provenance", None):  # e.g. a recovered model's import checks, citable in prose
                model_entries[-1]["provenance"] = model.provenance
            for name, (dataset, shown) in datasets.items():
                if model_cfg.datasets is not None and name not in model_cfg.datasets:
                    continue
                _say(f"  {model_cfg.spec} x {name}: {len(dataset.items)} pairs")
                results.append(
                    _export_pair(
                        model,
                        model_cfg,
                        dataset,
                        shown,
                        staging,
                        model_cfg.export_options(options),
                        timer,
                        cache_dir,
                        skip_bad,
                    )
                )
                pairs_embedded += len(dataset.items)
                if name in options.augment_datasets and augment_export.has_image_encoder(model):
                    with timer.stage("augmentation"):
                        augmentations.append(
                            augment_export.export_dataset_series(model, model_cfg, dataset, staging, options)
                        )
            if model_cfg.live != "off":
                with timer.stage("live"):
                    used = [  # the figure views: live bundles follow items.json
                        shown
                        for n, (_, shown) in datasets.items()
                        if model_cfg.datasets is None or n in model_cfg.datasets
                    ]
                    described = {  # the dataset's saliency descriptions, then the model's
                        d.name: d.saliency_descriptions + model_cfg.saliency_descriptions
                        for d in config.datasets
                    }
                    live_entries.append(
                        export_live(
                            model,
                            model_cfg,
                            used,
                            staging,
                            options,
                            cache_dir=cache_dir,
                            say=_say,
                            descriptions=described,
                        )
                    )
            dynamics_file = getattr(getattr(model, "artifact", None), "dynamics_file", None)
            training_dataset = _training_dataset(config, datasets)
            if dynamics_file is not None and training_dataset is not None:
                with timer.stage("training"):
                    payload = _training_payload(
                        model_cfg, training_dataset, Path(dynamics_file), options.seed
                    )
                    write_json_atomic(
                        staging / "training" / f"{model_cfg.slug}.json", payload, schema="training"
                    )
                training.append(
                    {
                        "model": model_cfg.spec,
                        "dataset": training_dataset.name,
                        "file": f"training/{model_cfg.slug}.json",
                    }
                )
        for series_cfg in config.series:
            if not selection.dataset(series_cfg.name):
                continue
            with timer.stage("augmentation"):
                _say(f"augmentation series {series_cfg.name} ({series_cfg.path})")
                entry, series_results = augment_export.export_precomputed_series(
                    series_cfg, staging, options.thumbnail_px
                )
            dataset_entries.append(entry)
            augmentations.extend(series_results)
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "seed": options.seed,
            "datasets": _merge(kept_datasets, dataset_entries, ("name",), [d.name for d in config.datasets]),
            "models": _merge(kept_models, model_entries, ("name",), [m.spec for m in config.models]),
            "results": _merge(kept_results, results, ("model", "dataset"), None),
            "training": _merge(kept_training, training, ("model",), None),
        }
        if augmentations or kept_augmentations:
            manifest["augmentations"] = _merge(kept_augmentations, augmentations, ("model", "dataset"), None)
        live = _merge(
            kept_live_entries(out_dir, only), live_entries, ("model",), [m.spec for m in config.models]
        )
        if live:
            manifest["live"] = live
        write_json_atomic(staging / "manifest.json", manifest, schema="manifest")
        build_info = {
            "config": str(config.path),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "stage_seconds": {k: round(v, 3) for k, v in timer.seconds.items()},
            "pairs_embedded": pairs_embedded,
            "device": device,
            "versions": _versions(),
            "machine": machine_facts(),  # byte-identity holds only where these match
        }
        write_bytes_atomic(staging / "build-info.json", (json.dumps(build_info, indent=2) + "\n").encode())
    return ExportReport(
        out_dir=out_dir,
        results=[(r["model"], r["dataset"]) for r in results],
        stage_seconds=dict(timer.seconds),
        pairs_embedded=pairs_embedded,
        skipped={name: list(getattr(d, "skipped", []) or []) for name, (d, _) in datasets.items()},
    )


@dataclass(frozen=True)
class _Selection:
    """What --only selects: named models and/or datasets; naming none of a kind selects all of it."""

    models: frozenset[str] | None
    datasets: frozenset[str] | None

    @classmethod
    def from_only(cls, only: set[str] | None, config: ExportConfig) -> _Selection:
        if only is None:
            return cls(None, None)
        dataset_names = {d.name for d in config.datasets} | {s.name for s in config.series}
        model_names = {m.spec for m in config.models} | {m.slug for m in config.models}
        unknown = sorted(only - dataset_names - model_names)
        if unknown:
            raise ExportError(
                f"--only names '{unknown[0]}', which is neither a model nor a dataset of {config.path}"
            )
        chosen_models = frozenset(only & model_names) or None
        chosen_datasets = frozenset(only & dataset_names) or None
        return cls(chosen_models, chosen_datasets)

    def model(self, cfg: ModelConfig) -> bool:
        return self.models is None or bool({cfg.spec, cfg.slug} & self.models)

    def dataset(self, name: str) -> bool:
        return self.datasets is None or name in self.datasets


def _training_dataset(config: ExportConfig, datasets: dict):
    """The figure view of the dataset whose pairs the training snapshots show."""
    name = config.options.training_dataset
    if name is not None:
        return datasets[name][1] if name in datasets else None
    return next((shown for full, shown in datasets.values() if full.kind == "shapes"), None)


def _merge(kept: list[dict], fresh: list[dict], keys: tuple[str, ...], order: list[str] | None) -> list[dict]:
    """Fresh entries replace kept ones with the same key; order follows the config where given."""
    merged = {tuple(e[k] for k in keys): e for e in kept}
    for entry in fresh:
        merged[tuple(entry[k] for k in keys)] = entry
    entries = list(merged.values())
    if order is not None:
        rank = {name: i for i, name in enumerate(order)}
        entries.sort(key=lambda e: rank.get(e[keys[0]], len(rank)))
    return entries


def _kept_augmentations(out_dir: Path, only: set[str] | None) -> list[dict]:
    if only is None or not (out_dir / "manifest.json").exists():
        return []
    return json.loads((out_dir / "manifest.json").read_text(encoding="utf-8")).get("augmentations", [])


def _carry_over(out_dir: Path, staging: Path, only: set[str] | None):
    """With --only, keep the previous output's other results (files and manifest entries)."""
    if only is None or not (out_dir / "manifest.json").exists():
        return [], [], [], []
    path = out_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        kept = tuple(list(manifest[key]) for key in ("results", "training", "models", "datasets"))
        if manifest.get("schema_version") != SCHEMA_VERSION:
            raise KeyError(f"data format {manifest.get('schema_version')!r}, this exporter writes {SCHEMA_VERSION}")
    except (ValueError, KeyError, TypeError) as error:  # bad JSON, bad UTF-8, missing or odd keys
        raise ExportError(
            f"{path} is damaged ({type(error).__name__}: {error}), so --only cannot keep the other "
            "results; run the export without --only to rewrite everything"
        ) from error
    shutil.copytree(out_dir, staging, dirs_exist_ok=True)
    (staging / "build-info.json").unlink(missing_ok=True)
    return kept
