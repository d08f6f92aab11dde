"""The export configuration: a TOML file listing datasets, models and options.

Parsing validates everything at the boundary so that a typo fails in one line
that names the file and the key, before any model runs.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from exporter.errors import ExportError, did_you_mean
from exporter.seeds import DEFAULT_SEED

# "gap" is a linear frame with the gap vector as its x axis (analyses.projection.GapAxes).
PROJECTION_METHODS = ("gap", "pca", "umap", "tsne")


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    # Descriptions whose Grad-CAM maps the live bundles precompute for every item (exporter/live).
    saliency_descriptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelConfig:
    spec: str
    label: str
    slug: str
    datasets: tuple[str, ...] | None = None  # None: every dataset
    # Towers written for the page (exporter/live): "both", "text" or "off"; pocket models default to both.
    live: str = "off"
    live_int8: bool = False  # int8 weights for the text tower (about 4x smaller)
    saliency_descriptions: tuple[str, ...] = ()  # added to each dataset's own (exporter/live)
    # Per-model overrides of [export] (e.g. twelve ablation checkpoints need no UMAP each).
    projections: tuple[str, ...] | None = None
    gap_fractions: tuple[float, ...] | None = None

    def export_options(self, options: ExportOptions) -> ExportOptions:
        """The [export] options with this model's overrides applied."""
        changes = {"projections": self.projections, "gap_fractions": self.gap_fractions}
        return replace(options, **{key: value for key, value in changes.items() if value is not None})


# Above this many figure pairs a result ships embeddings instead of matrices (measured: README,
# "Large datasets"; bench/bench_embeddings_browser.py).
EMBEDDINGS_ABOVE = 500


@dataclass(frozen=True)
class ExportOptions:
    seed: int = DEFAULT_SEED
    batch_size: int = 64
    projections: tuple[str, ...] = PROJECTION_METHODS
    gap_fractions: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    landscape_start: float = -5.0
    landscape_stop: float = 5.0
    landscape_step: float = 0.25
    retrieval_k: int = 10
    clusters: int = 10
    thumbnail_px: int = 160
    training_dataset: str | None = None  # dataset whose pairs pocket training snapshots show
    # Statistics cover every pair; figures show a seeded, stratified sample of at most this many.
    # 800 keeps today's matrix files (similarity + five gap-slider matrices) under 30 MB per result.
    figure_pairs: int = 800
    # A result whose figure sample has more pairs ships embeddings.json (int8) instead of the
    # kN x kN similarity and gap-step matrices; the browser computes what it draws (README).
    embeddings_above: int = EMBEDDINGS_ABOVE
    bootstrap: int = 1000  # resamples behind each confidence interval
    confidence: float = 0.95
    engine: str = "local"  # "ray": embed on Ray Data (exporter.distributed)
    ray_address: str | None = None  # None: start a local Ray cluster on this machine
    ray_workers: int | None = None  # encoder workers; None: one per CPU
    ray_gpus: float = 0.0  # GPUs each Ray encoder worker asks for (0: CPU workers; 0.5: two per GPU)
    # Augmentation series (exporter/augment.py) of these image datasets, for every model with an image encoder.
    augment_datasets: tuple[str, ...] = ()
    augmentations: tuple[str, ...] = ("rotate", "blur", "noise", "hshift", "vshift")
    augment_steps: int = 21
    augment_bases: int = 10


@dataclass(frozen=True)
class SeriesConfig:
    """A precomputed augmentation series folder (exporter/augment.py), e.g. Amumo's."""

    name: str
    path: Path
    description: str = ""


@dataclass(frozen=True)
class ExportConfig:
    path: Path
    options: ExportOptions
    datasets: tuple[DatasetConfig, ...]
    models: tuple[ModelConfig, ...]
    out: Path | None = None  # from [export] out, relative to the working directory
    series: tuple[SeriesConfig, ...] = ()  # [[augmentation_series]] tables


def model_slug(spec: str) -> str:
    """File-name-safe, stable name for a model spec (see docs/ARCHITECTURE.md)."""
    return re.sub(r"[^a-z0-9]+", "-", spec.lower()).strip("-")


def _closest(word: str, choices: list[str]) -> str:
    return f" ({did_you_mean(word, choices)})"


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ExportError(f"{where}: unknown key '{key}'{_closest(key, sorted(allowed))}")


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ExportError(f"{where}: '{what}' must be a number, not {value!r}")
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ExportError(f"{where}: '{what}' must be {names}, got {value!r}")
    return value


_OPTION_TYPES: dict[str, tuple[type | tuple[type, ...], bool]] = {
    # name: (element type, is list)
    "seed": (int, False),
    "batch_size": (int, False),
    "projections": (str, True),
    "gap_fractions": ((int, float), True),
    "landscape_start": ((int, float), False),
    "landscape_stop": ((int, float), False),
    "landscape_step": ((int, float), False),
    "retrieval_k": (int, False),
    "clusters": (int, False),
    "thumbnail_px": (int, False),
    "training_dataset": (str, False),
    "augment_datasets": (str, True),
    "augmentations": (str, True),
    "augment_steps": (int, False),
    "augment_bases": (int, False),
    "figure_pairs": (int, False),
    "embeddings_above": (int, False),
    "bootstrap": (int, False),
    "confidence": ((int, float), False),
    "engine": (str, False),
    "ray_address": (str, False),
    "ray_workers": (int, False),
    "ray_gpus": ((int, float), False),
}
ENGINES = ("local", "ray")


# Inclusive bounds of the integer options: beyond them a run would fail late or exhaust memory.
_INT_RANGES = {
    "seed": (0, 2**32 - 1),  # numpy's and scikit-learn's seeds are 32-bit
    "batch_size": (1, 4096),
    "retrieval_k": (1, 1000),
    "clusters": (1, 1000),
    "thumbnail_px": (1, 160),  # previews stay small
    "embeddings_above": (0, 10**9),  # 0: every result ships embeddings
}
MAX_LANDSCAPE_POINTS = 2001  # each point is a full loss evaluation over the pairs


def _check_ranges(values: dict[str, Any], where: str) -> None:
    """Every range and cross-field constraint of [export], checked before any work starts."""
    for key, (lo, hi) in _INT_RANGES.items():
        if key in values and not lo <= values[key] <= hi:
            raise ExportError(f"{where}: '{key}' must be between {lo} and {hi}, got {values[key]}")
    for key in ("landscape_start", "landscape_stop", "landscape_step"):
        if key in values and not math.isfinite(values[key]):
            raise ExportError(f"{where}: '{key}' must be a finite number, got {values[key]}")
    start = values.get("landscape_start", ExportOptions.landscape_start)
    stop = values.get("landscape_stop", ExportOptions.landscape_stop)
    step = values.get("landscape_step", ExportOptions.landscape_step)
    if step <= 0:
        raise ExportError(f"{where}: 'landscape_step' must be positive, got {step}")
    if start >= stop:
        raise ExportError(f"{where}: 'landscape_start' ({start}) must be below 'landscape_stop' ({stop})")
    if (stop - start) / step + 1 > MAX_LANDSCAPE_POINTS:
        raise ExportError(
            f"{where}: 'landscape_step' {step} gives {int((stop - start) / step) + 1} landscape points "
            f"from {start} to {stop}; at most {MAX_LANDSCAPE_POINTS} are allowed, so raise the step"
        )
    fractions = values.get("gap_fractions")
    if fractions is not None:
        if not fractions:
            raise ExportError(f"{where}: 'gap_fractions' is empty; list at least one, e.g. [0.0, 0.5, 1.0]")
        for value in fractions:
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ExportError(
                    f"{where}: 'gap_fractions' holds {value}; every fraction must lie in [0, 1] "
                    "(0 = the original space, 1 = the gap fully closed)"
                )
        if len(set(fractions)) != len(fractions):
            raise ExportError(f"{where}: 'gap_fractions' lists a fraction twice; list each once")
    projections = values.get("projections")
    if projections is not None:
        if not projections:
            raise ExportError(
                f"{where}: 'projections' is empty; list at least one of {', '.join(PROJECTION_METHODS)}"
            )
        if len(set(projections)) != len(projections):
            raise ExportError(f"{where}: 'projections' lists a method twice; list each once")


def _parse_options(table: dict, where: str) -> tuple[ExportOptions, Path | None]:
    _check_keys(table, set(_OPTION_TYPES) | {"out"}, where)
    values: dict[str, Any] = {}
    for key, (kind, is_list) in _OPTION_TYPES.items():
        if key not in table:
            continue
        raw = table[key]
        if is_list:
            _expect(raw, list, where, key)
            values[key] = tuple(_expect(v, kind, where, key) for v in raw)
        else:
            values[key] = _expect(raw, kind, where, key)
    for method in values.get("projections", ()):
        if method not in PROJECTION_METHODS:
            raise ExportError(
                f"{where}: unknown projection '{method}'{_closest(method, list(PROJECTION_METHODS))}"
            )
    _check_ranges(values, where)
    from exporter.augment import check_augmentations

    check_augmentations(values.get("augmentations", ()))
    if values.get("augment_steps", 21) < 2:
        raise ExportError(f"{where}: 'augment_steps' must be at least 2, got {values['augment_steps']}")
    if values.get("augment_bases", 1) < 1:
        raise ExportError(f"{where}: 'augment_bases' must be at least 1, got {values['augment_bases']}")
    if values.get("figure_pairs", 2) < 2:
        raise ExportError(
            f"{where}: 'figure_pairs' must be at least 2 (figures need pairs), got {values['figure_pairs']}"
        )
    if values.get("bootstrap", 10) < 10:
        raise ExportError(
            f"{where}: 'bootstrap' must be at least 10 resamples (1000 is usual), got {values['bootstrap']}"
        )
    if not 0 < values.get("confidence", 0.95) < 1:
        raise ExportError(
            f"{where}: 'confidence' must lie strictly between 0 and 1, e.g. 0.95, got {values['confidence']}"
        )
    if values.get("engine", "local") not in ENGINES:
        raise ExportError(
            f"{where}: unknown engine '{values['engine']}'{_closest(values['engine'], list(ENGINES))}"
        )
    if values.get("ray_workers", 1) < 1:
        raise ExportError(f"{where}: 'ray_workers' must be at least 1, got {values['ray_workers']}")
    if not (math.isfinite(values.get("ray_gpus", 0)) and 0 <= values.get("ray_gpus", 0) <= 64):
        raise ExportError(f"{where}: 'ray_gpus' (GPUs per encoder worker) must be between 0 and 64, got {values['ray_gpus']}")
    if "ray_gpus" in values:
        values["ray_gpus"] = float(values["ray_gpus"])
    if "confidence" in values:
        values["confidence"] = float(values["confidence"])
    out = table.get("out")
    if out is not None:
        _expect(out, str, where, "out")
    return ExportOptions(**values), (Path(out) if out else None)


def _check_dataset_options(kind: str, options: dict[str, Any], where: str) -> None:
    """What can be checked of a dataset before loading it: its kind, n and the shared options.

    Each kind's own options (path, caption ...) are checked by its loader, which runs
    before any model does.
    """
    from exporter.datasets.registry import DATASET_KINDS, unknown_kind_message
    from exporter.datasets.shared_options import check_shared_options

    if kind not in DATASET_KINDS:
        raise ExportError(unknown_kind_message(kind, where))
    n = options.get("n")
    if n is not None:
        _expect(n, int, where, "n")
        if n < 2:
            raise ExportError(f"{where}: 'n' must be at least 2 (a modality gap needs two pairs), got {n}")
    check_shared_options(options, where)


def _parse_live(table: dict, spec: str, where: str) -> tuple[str, bool]:
    """live = true | false | "text"; pocket models write both towers unless told otherwise, open_clip
    models only when asked (their towers are large: the exporter warns above 20 MB)."""
    raw = table.get("live", spec.startswith("pocket:"))
    if raw is True:
        live = "both"
    elif raw is False:
        live = "off"
    elif raw == "text":
        live = "text"
    else:
        raise ExportError(f"{where}: 'live' must be true, false or \"text\", got {raw!r}")
    if live != "off" and not spec.startswith(("pocket:", "open_clip:")):
        raise ExportError(f"{where}: only pocket: and open_clip: models can run in the page; remove 'live'")
    live_int8 = _expect(table.get("live_int8", False), bool, where, "live_int8")
    if live_int8 and live == "off":
        raise ExportError(f"{where}: 'live_int8' needs live = true or \"text\"")
    return live, live_int8


MAX_DESCRIPTIONS = 32
MAX_DESCRIPTION_CHARS = 200


def _parse_descriptions(table: dict, where: str) -> tuple[str, ...]:
    """saliency_descriptions = ["a red circle", ...]: the Grad-CAM targets precomputed per item."""
    raw = _expect(table.get("saliency_descriptions", []), list, where, "saliency_descriptions")
    out: list[str] = []
    for value in raw:
        text = _expect(value, str, where, "saliency_descriptions entry").strip()
        if not text:
            raise ExportError(f"{where}: 'saliency_descriptions' has an empty description; remove it")
        if len(text) > MAX_DESCRIPTION_CHARS:
            raise ExportError(
                f"{where}: saliency description '{text[:40]}...' is longer than {MAX_DESCRIPTION_CHARS} characters"
            )
        if text in out:
            raise ExportError(f"{where}: saliency description '{text}' is listed twice")
        out.append(text)
    if len(out) > MAX_DESCRIPTIONS:
        raise ExportError(
            f"{where}: {len(out)} saliency descriptions; at most {MAX_DESCRIPTIONS} (each adds a map per item)"
        )
    return tuple(out)


def parse_config(text: str, path: Path) -> ExportConfig:
    """Parse and validate the text of an export config."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExportError(f"{path}: malformed TOML: {error}; fix that line") from error
    _check_keys(data, {"export", "datasets", "models", "augmentation_series"}, str(path))
    options, out = _parse_options(
        _expect(data.get("export", {}), dict, str(path), "export"), f"{path} [export]"
    )

    raw_datasets = _expect(data.get("datasets", []), list, str(path), "datasets")
    if not raw_datasets and not data.get("augmentation_series"):
        raise ExportError(f'{path}: no [[datasets]] listed; add at least one, e.g. kind = "samples"')
    datasets: list[DatasetConfig] = []
    for index, table in enumerate(raw_datasets, start=1):
        where = f"{path} [[datasets]] #{index}"
        _expect(table, dict, where, "datasets entry")
        kind = _expect(table.get("kind", ""), str, where, "kind")
        if not kind:
            raise ExportError(f"{where}: missing 'kind' (samples, shapes, pairs, coco or embeddings)")
        name = _expect(table.get("name", kind), str, where, "name")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            raise ExportError(f"{where}: dataset name '{name}' must be lowercase letters, digits, '-' or '_'")
        if any(d.name == name for d in datasets):
            raise ExportError(f"{where}: dataset name '{name}' is used twice; give each a distinct 'name'")
        options_table = {k: v for k, v in table.items() if k not in ("name", "kind", "saliency_descriptions")}
        _check_dataset_options(kind, options_table, where)
        described = _parse_descriptions(table, where)
        datasets.append(
            DatasetConfig(name=name, kind=kind, options=options_table, saliency_descriptions=described)
        )

    raw_models = _expect(data.get("models", []), list, str(path), "models")
    if not raw_models and not data.get("augmentation_series"):
        raise ExportError(f'{path}: no [[models]] listed; add one, e.g. spec = "pocket:infonce"')
    dataset_names = [d.name for d in datasets]
    models: list[ModelConfig] = []
    for index, table in enumerate(raw_models, start=1):
        where = f"{path} [[models]] #{index}"
        _expect(table, dict, where, "models entry")
        _check_keys(
            table,
            {
                "spec",
                "label",
                "slug",
                "datasets",
                "live",
                "live_int8",
                "projections",
                "gap_fractions",
                "saliency_descriptions",
            },
            where,
        )
        spec = _expect(table.get("spec", ""), str, where, "spec").strip()
        if not spec:
            raise ExportError(f"{where}: missing 'spec', e.g. spec = \"open_clip:ViT-B-32:openai\"")
        slug = _expect(table.get("slug", model_slug(spec)), str, where, "slug")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
            raise ExportError(f"{where}: slug '{slug}' must be lowercase letters, digits and '-'")
        if any(m.slug == slug for m in models):
            raise ExportError(f"{where}: two models share the slug '{slug}'; give one a distinct 'slug'")
        only = table.get("datasets")
        if only is not None:
            only = tuple(_expect(v, str, where, "datasets") for v in _expect(only, list, where, "datasets"))
            for name in only:
                if name not in dataset_names:
                    raise ExportError(f"{where}: unknown dataset '{name}'{_closest(name, dataset_names)}")
        label = _expect(table.get("label", spec), str, where, "label")
        live, live_int8 = _parse_live(table, spec, where)
        described = _parse_descriptions(table, where)
        if described and live != "both":
            raise ExportError(
                f"{where}: 'saliency_descriptions' needs the image tower in the page (live = true)"
            )
        overrides = {key: table[key] for key in ("projections", "gap_fractions") if key in table}
        parsed, _ = _parse_options(overrides, where) if overrides else (None, None)
        models.append(
            ModelConfig(
                spec=spec,
                label=label,
                slug=slug,
                datasets=only,
                live=live,
                live_int8=live_int8,
                saliency_descriptions=described,
                projections=parsed.projections if "projections" in overrides else None,
                gap_fractions=parsed.gap_fractions if "gap_fractions" in overrides else None,
            )
        )

    for name in options.augment_datasets:
        if name not in dataset_names:
            raise ExportError(
                f"{path} [export]: augment_datasets names '{name}', which is not a listed dataset"
                f"{_closest(name, dataset_names)}"
            )
    series: list[SeriesConfig] = []
    for index, table in enumerate(
        _expect(data.get("augmentation_series", []), list, str(path), "augmentation_series"), 1
    ):
        where = f"{path} [[augmentation_series]] #{index}"
        _expect(table, dict, where, "augmentation_series entry")
        _check_keys(table, {"name", "path", "description"}, where)
        name = _expect(table.get("name", ""), str, where, "name")
        if (
            not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name)
            or name in dataset_names
            or any(s.name == name for s in series)
        ):
            raise ExportError(
                f"{where}: name '{name}' must be a new lowercase name (letters, digits, '-', '_')"
            )
        folder = _expect(table.get("path", ""), str, where, "path")
        if not folder:
            raise ExportError(f"{where}: missing 'path' (a folder with series.json)")
        series.append(
            SeriesConfig(name, Path(folder), _expect(table.get("description", ""), str, where, "description"))
        )
    if options.training_dataset is not None and options.training_dataset not in dataset_names:
        raise ExportError(
            f"{path} [export]: training_dataset '{options.training_dataset}' is not a listed dataset"
            f"{_closest(options.training_dataset, dataset_names)}"
        )
    return ExportConfig(
        path=path,
        options=options,
        datasets=tuple(datasets),
        models=tuple(models),
        out=out,
        series=tuple(series),
    )


def load_config(path: Path) -> ExportConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ExportError(
            f"{path}: config file not found; pass --config with an existing TOML file"
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"{path}: cannot read config ({error})") from error
    return parse_config(text, path)
