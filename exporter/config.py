"""The export configuration: a TOML file listing datasets, models and options.

Parsing validates everything at the boundary so that a typo fails in one line
that names the file and the key, before any model runs.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class ModelConfig:
    spec: str
    label: str
    slug: str
    datasets: tuple[str, ...] | None = None  # None: every dataset
    # Towers written for the page (exporter/live): "both", "text" or "off"; pocket models default to both.
    live: str = "off"
    live_int8: bool = False  # int8 weights for the text tower (about 4x smaller)


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


@dataclass(frozen=True)
class ExportConfig:
    path: Path
    options: ExportOptions
    datasets: tuple[DatasetConfig, ...]
    models: tuple[ModelConfig, ...]
    out: Path | None = None  # from [export] out, relative to the working directory


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
}


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
    for key in ("batch_size", "retrieval_k", "clusters", "thumbnail_px"):
        if key in values and values[key] < 1:
            raise ExportError(f"{where}: '{key}' must be at least 1, got {values[key]}")
    if values.get("thumbnail_px", 160) > 160:
        raise ExportError(
            f"{where}: 'thumbnail_px' is at most 160 (previews stay small), got {values['thumbnail_px']}"
        )
    if values.get("landscape_step", 0.25) <= 0:
        raise ExportError(f"{where}: 'landscape_step' must be positive")
    out = table.get("out")
    if out is not None:
        _expect(out, str, where, "out")
    return ExportOptions(**values), (Path(out) if out else None)


def _parse_live(table: dict, spec: str, where: str) -> tuple[str, bool]:
    """live = true | false | "text"; pocket models write both towers unless told otherwise."""
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


def parse_config(text: str, path: Path) -> ExportConfig:
    """Parse and validate the text of an export config."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExportError(f"{path}: malformed TOML: {error}; fix that line") from error
    _check_keys(data, {"export", "datasets", "models"}, str(path))
    options, out = _parse_options(
        _expect(data.get("export", {}), dict, str(path), "export"), f"{path} [export]"
    )

    raw_datasets = _expect(data.get("datasets", []), list, str(path), "datasets")
    if not raw_datasets:
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
        options_table = {k: v for k, v in table.items() if k not in ("name", "kind")}
        datasets.append(DatasetConfig(name=name, kind=kind, options=options_table))

    raw_models = _expect(data.get("models", []), list, str(path), "models")
    if not raw_models:
        raise ExportError(f'{path}: no [[models]] listed; add one, e.g. spec = "pocket:infonce"')
    dataset_names = [d.name for d in datasets]
    models: list[ModelConfig] = []
    for index, table in enumerate(raw_models, start=1):
        where = f"{path} [[models]] #{index}"
        _expect(table, dict, where, "models entry")
        _check_keys(table, {"spec", "label", "slug", "datasets", "live", "live_int8"}, where)
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
        models.append(
            ModelConfig(spec=spec, label=label, slug=slug, datasets=only, live=live, live_int8=live_int8)
        )

    if options.training_dataset is not None and options.training_dataset not in dataset_names:
        raise ExportError(
            f"{path} [export]: training_dataset '{options.training_dataset}' is not a listed dataset"
            f"{_closest(options.training_dataset, dataset_names)}"
        )
    return ExportConfig(path=path, options=options, datasets=tuple(datasets), models=tuple(models), out=out)


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
