"""Config in, data files out: the orchestration of the export stage.

The data files themselves are built by exporter.payloads; merging with an
earlier output (--only) is exporter.manifest.

Everything is written into a staging folder beside the output and swapped in
at the end, so a failed export leaves the previous output untouched and no
half-written files behind.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exporter import __version__, augment_export, payloads
from exporter.analyses import metrics, modalities
from exporter.config import ExportConfig, ModelConfig
from exporter.contract import EXPORT_MARKER, EXPORT_MARKER_TEXT, write_bytes_atomic, write_json_atomic
from exporter.datasets.shared_options import check_templates_readable
from exporter.embedding_payload import ships_embeddings, without_lists, write_embedding_result
from exporter.errors import ExportError
from exporter.gap_files import write_gap_files
from exporter.machine import machine_facts
from exporter.manifest import carry_over, merge
from exporter.media import item_media
from exporter.statistics import (
    figure_view,
    heavy_result_warning,
    measure_all_pairs,
    sample_entry,
    sample_rows,
)
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
        media, extra = item_media(
            item.id, item.extra, tuple(dataset.modalities), None, folder / "thumbs", thumbnail_px
        )
        items.append(payloads.item_entry(item.id, item.text, image_name, item.label, extra, media))
    dataset.items[:] = kept
    if len(kept) < 2:
        raise ExportError(
            f"dataset '{dataset.name}': {len(kept)} item(s) left after skipping; a modality gap needs at least 2"
        )
    payload = payloads.items_payload(dataset.name, dataset.modalities, items, dataset.classes)
    write_json_atomic(folder / "items.json", payload)
    return payloads.dataset_entry(
        dataset.name,
        dataset.kind,
        len(items),
        dataset.modalities,
        bool(dataset.classes),
        dataset.description,
        dataset.skipped,
    )


# ---------------------------------------------------------------- training dynamics


def _training_payload(model_cfg: ModelConfig, dataset, dynamics, seed: int) -> dict:
    n = dynamics.snapshots_image.shape[1]
    if n != len(dataset.items):
        raise ExportError(
            f"training snapshots of {model_cfg.spec} hold {n} pairs but dataset '{dataset.name}' has "
            f"{len(dataset.items)}; set n = {n} on that dataset or choose another training_dataset"
        )
    return payloads.training_payload(
        model_cfg.spec,
        dataset.name,
        dynamics.curve,
        dynamics.steps,
        dynamics.snapshots_image,
        dynamics.snapshots_text,
        seed,
    )


# ---------------------------------------------------------------- the export


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
            payload = payloads.similarity_payload(
                cfg.spec,
                dataset.name,
                dataset.modalities,
                blocks,
                [item.text for item in dataset.items],
                options.clusters,
            )
            write_json_atomic(folder / "similarity.json", payload)
            files["similarity"] = f"{rel}/similarity.json"
    with timer.stage("metrics"):
        measured = dict(statistics.values)
        # Registry measures the all-pairs statistics do not stream (separability: a classifier)
        # are taken on the figure sample.
        missing = [m.key for m in metrics.MEASURES if m.compute is not None and m.key not in measured]
        measured |= metrics.measures_of(missing, image, text, logit_scale=info.logit_scale, seed=options.seed)
        metric_values = payloads.metric_values(measured)
        if extra:  # k > 2 modalities: every pair measured too
            metric_values["pairs"] = payloads.pair_metric_values(
                modalities.pairwise_metrics(
                    blocks,
                    dataset.modalities,
                    logit_scale=info.logit_scale,
                    logit_bias=info.logit_bias,
                    seed=options.seed,
                )
            )
        recall = {"i2t": metric_values["recall_i2t"], "t2i": metric_values["recall_t2i"]}
        payload = payloads.retrieval_payload(
            blocks, tuple(dataset.modalities), options.retrieval_k, recall, metric_values.get("pairs")
        )
        if embedded:
            payload = without_lists(payload)
        write_json_atomic(folder / "retrieval.json", payload, schema="retrieval")  # without_lists re-checked
        files["retrieval"] = f"{rel}/retrieval.json"
    with timer.stage("gap"):
        gap_payload, sample_closed = payloads.gap_payload(
            blocks,
            tuple(dataset.modalities),
            logit_scale=info.logit_scale,
            logit_bias=info.logit_bias,
            fractions=options.gap_fractions,
            deltas=_landscape_deltas(options),
        )
        # k > 2 modalities: "closed" means every gap closed at once (analyses.modalities), measured on
        # the figure sample with every pair; two modalities: the full-set statistics.
        closed = sample_closed if extra else dict(statistics.closed)
        write_gap_files(folder, rel, gap_payload, matrices=not embedded)  # gap.json (+ one file per step's matrix)
        files["gap"] = f"{rel}/gap.json"
    with timer.stage("projections"):
        # Every gap step mapped into the frame fitted on the original (payloads.project_gap_steps).
        points = payloads.project_gap_steps(blocks, options.projections, options.gap_fractions, options.seed)
        write_json_atomic(
            folder / "projections.json", payloads.projections_payload(points, options.gap_fractions)
        )
        files["projections"] = f"{rel}/projections.json"
    # Zero-shot needs at least two classes to choose between (a small subset may hold one), and a
    # text encoder for the class prompts (a model of precomputed vectors has none).
    if dataset.classes and len(dataset.classes) >= 2 and info.capabilities.encode_texts:
        with timer.stage("zeroshot"):
            classes = list(dataset.classes)
            class_texts = {
                template: model.encode_texts([template.format(name) for name in classes])
                for template in dataset.zero_shot_templates
            }
            labels = [classes.index(item.label) for item in dataset.items]
            payload, accuracy, closed_accuracy = payloads.zeroshot_payload(
                image, text, class_texts, labels, classes, logit_scale=info.logit_scale
            )
            write_json_atomic(folder / "zeroshot.json", payload)
            files["zeroshot"] = f"{rel}/zeroshot.json"
            metric_values["zeroshot"] = accuracy
            closed["zeroshot"] = closed_accuracy
    metric_values["closed"] = closed
    warning = heavy_result_warning(cfg.spec, dataset.name, folder, len(dataset.items))
    if warning:
        _say(warning)
    return payloads.result_entry(
        cfg.spec, dataset.name, files, metric_values, statistics.entry(separability_n=len(dataset.items))
    )


def _landscape_deltas(options) -> np.ndarray:
    return np.arange(
        options.landscape_start, options.landscape_stop + options.landscape_step / 2, options.landscape_step
    )


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
        kept = carry_over(out_dir, staging, only)
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
                [
                    full
                    for n, (full, _) in datasets.items()
                    if model_cfg.datasets is None or n in model_cfg.datasets
                ],
            )
            model_entries.append(
                payloads.model_entry(
                    model_cfg.spec, model_cfg.slug, model_cfg.label, model.info, model.provenance
                )
            )
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
                if name in options.augment_datasets and model.info.capabilities.encode_images:
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
            training_dataset = _training_dataset(config, datasets)
            if model.info.capabilities.training_dynamics and training_dataset is not None:
                with timer.stage("training"):
                    payload = _training_payload(
                        model_cfg, training_dataset, model.training_dynamics(), options.seed
                    )
                    write_json_atomic(staging / "training" / f"{model_cfg.slug}.json", payload)
                training.append(
                    payloads.training_entry(model_cfg.spec, training_dataset.name, model_cfg.slug)
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
        manifest = payloads.manifest_payload(
            options.seed,
            merge(kept.datasets, dataset_entries, ("name",), [d.name for d in config.datasets]),
            merge(kept.models, model_entries, ("name",), [m.spec for m in config.models]),
            merge(kept.results, results, ("model", "dataset"), None),
            merge(kept.training, training, ("model",), None),
            live=merge(
                kept_live_entries(out_dir, only), live_entries, ("model",), [m.spec for m in config.models]
            ),
            augmentations=merge(kept.augmentations, augmentations, ("model", "dataset"), None),
        )
        write_json_atomic(staging / "manifest.json", manifest)
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
