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

from exporter import __version__, payloads
from exporter.config import ExportConfig, ModelConfig
from exporter.contract import staged_folder, write_json_atomic
from exporter.errors import ExportError
from exporter.manifest import carry_over, merge
from exporter.models.base import TrainingDynamics
from exporter.thumbnails import write_thumbnail

STATUS = sys.stderr


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
    print(message, file=STATUS, flush=True)


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
        items.append(payloads.item_entry(item.id, item.text, image_name, item.label, item.extra))
    dataset.items[:] = kept
    if not kept:
        raise ExportError(f"dataset '{dataset.name}': every item was skipped; nothing is left to export")
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


# ---------------------------------------------------------------- one (model, dataset) pair


def _check_dynamics(model_cfg: ModelConfig, dataset, dynamics: TrainingDynamics) -> None:
    n = dynamics.snapshots_image.shape[1]
    if n != len(dataset.items):
        raise ExportError(
            f"training snapshots of {model_cfg.spec} hold {n} pairs but dataset '{dataset.name}' has "
            f"{len(dataset.items)}; set n = {n} on that dataset or choose another training_dataset"
        )


def _export_pair(model, cfg: ModelConfig, dataset, out: Path, options, timer, cache_dir, skip_bad) -> dict:
    from exporter.embed import embed_dataset

    with timer.stage("embed"):
        vectors = embed_dataset(
            model, dataset, cache_dir=cache_dir, batch_size=options.batch_size, skip_bad=skip_bad
        )
    blocks = [np.asarray(vectors[m], dtype=np.float64) for m in dataset.modalities]
    image, text, extra = blocks[0], blocks[1], blocks[2:]
    info = model.info
    folder = out / "results" / cfg.slug / dataset.name
    rel = f"results/{cfg.slug}/{dataset.name}"
    files = {}

    def write(name: str, payload: dict) -> None:
        write_json_atomic(folder / f"{name}.json", payload)
        files[name] = f"{rel}/{name}.json"

    with timer.stage("similarity"):
        texts = [item.text for item in dataset.items]
        write(
            "similarity",
            payloads.similarity_payload(
                cfg.spec, dataset.name, dataset.modalities, blocks, texts, options.clusters
            ),
        )
    with timer.stage("metrics"):
        metric_values = payloads.result_metrics(
            image, text, logit_scale=info.logit_scale, logit_bias=info.logit_bias, seed=options.seed
        )
        recall = {"i2t": metric_values["recall_i2t"], "t2i": metric_values["recall_t2i"]}
        write("retrieval", payloads.retrieval_payload(image, text, options.retrieval_k, recall))
    with timer.stage("gap"):
        deltas = np.arange(
            options.landscape_start,
            options.landscape_stop + options.landscape_step / 2,
            options.landscape_step,
        )
        gap_payload, closed = payloads.gap_payload(
            image,
            text,
            extra,
            logit_scale=info.logit_scale,
            logit_bias=info.logit_bias,
            fractions=options.gap_fractions,
            deltas=deltas,
        )
        write("gap", gap_payload)
    with timer.stage("projections"):
        points = payloads.project_gap_steps(
            image, text, extra, options.projections, options.gap_fractions, options.seed
        )
        write("projections", payloads.projections_payload(points, options.gap_fractions))
    # Zero-shot needs at least two classes to choose between (a small subset may hold one).
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
            write("zeroshot", payload)
            metric_values["zeroshot"] = accuracy
            closed["zeroshot"] = closed_accuracy
    metric_values["closed"] = closed
    return payloads.result_entry(cfg.spec, dataset.name, files, metric_values)


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
    with staged_folder(out_dir) as staging:
        selection = _Selection.from_only(only, config)
        kept = carry_over(out_dir, staging, only)
        selected_datasets = [d for d in config.datasets if selection.dataset(d.name)]
        datasets = {}
        dataset_entries = []
        for dataset_cfg in selected_datasets:
            with timer.stage("datasets"):
                _say(f"dataset {dataset_cfg.name} ({dataset_cfg.kind})")
                dataset = load_dataset(dataset_cfg, seed=options.seed, skip_bad=skip_bad)
                datasets[dataset.name] = dataset
                dataset_entries.append(_write_dataset(dataset, staging, options.thumbnail_px, skip_bad))
        results, training, model_entries, live_entries = [], [], [], []
        pairs_embedded = 0
        for model_cfg in config.models:
            if not selection.model(model_cfg):
                continue
            with timer.stage("models"):
                _say(f"model {model_cfg.spec}")
                model = resolve_model(model_cfg.spec, device=device, cache_dir=cache_dir, seed=options.seed)
            model_entries.append(
                payloads.model_entry(model_cfg.spec, model_cfg.slug, model_cfg.label, model.info)
            )
            for name, dataset in datasets.items():
                if model_cfg.datasets is not None and name not in model_cfg.datasets:
                    continue
                _say(f"  {model_cfg.spec} x {name}: {len(dataset.items)} pairs")
                results.append(
                    _export_pair(model, model_cfg, dataset, staging, options, timer, cache_dir, skip_bad)
                )
                pairs_embedded += len(dataset.items)
            if model_cfg.live != "off":
                with timer.stage("live"):
                    used = [
                        d
                        for n, d in datasets.items()
                        if model_cfg.datasets is None or n in model_cfg.datasets
                    ]
                    live_entries.append(
                        export_live(model, model_cfg, used, staging, options, cache_dir=cache_dir, say=_say)
                    )
            training_dataset = _training_dataset(config, datasets)
            if model.info.capabilities.training_dynamics and training_dataset is not None:
                with timer.stage("training"):
                    dynamics = model.training_dynamics()
                    _check_dynamics(model_cfg, training_dataset, dynamics)
                    payload = payloads.training_payload(
                        model_cfg.spec,
                        training_dataset.name,
                        dynamics.curve,
                        dynamics.steps,
                        dynamics.snapshots_image,
                        dynamics.snapshots_text,
                        options.seed,
                    )
                    write_json_atomic(staging / "training" / f"{model_cfg.slug}.json", payload)
                training.append(
                    payloads.training_entry(model_cfg.spec, training_dataset.name, model_cfg.slug)
                )
        manifest = payloads.manifest_payload(
            options.seed,
            datasets=merge(kept.datasets, dataset_entries, ("name",), [d.name for d in config.datasets]),
            models=merge(kept.models, model_entries, ("name",), [m.spec for m in config.models]),
            results=merge(kept.results, results, ("model", "dataset"), None),
            training=merge(kept.training, training, ("model",), None),
            live=merge(
                kept_live_entries(out_dir, only), live_entries, ("model",), [m.spec for m in config.models]
            ),
        )
        write_json_atomic(staging / "manifest.json", manifest)
        build_info = {
            "config": str(config.path),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "stage_seconds": {k: round(v, 3) for k, v in timer.seconds.items()},
            "pairs_embedded": pairs_embedded,
            "device": device,
            "versions": _versions(),
        }
        (staging / "build-info.json").write_text(json.dumps(build_info, indent=2) + "\n", encoding="utf-8")
    return ExportReport(
        out_dir=out_dir,
        results=[(r["model"], r["dataset"]) for r in results],
        stage_seconds=dict(timer.seconds),
        pairs_embedded=pairs_embedded,
        skipped={name: list(getattr(d, "skipped", []) or []) for name, d in datasets.items()},
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
        dataset_names = {d.name for d in config.datasets}
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
    name = config.options.training_dataset
    if name is not None:
        return datasets.get(name)
    return next((d for d in datasets.values() if d.kind == "shapes"), None)
