"""Figure kinds, the figure directive's fields, and their resolution against the export.

A figure directive names a kind, a dataset and models; this module checks each
against the manifest and lists the data files the figure's module will fetch,
so the page links them ("download the data") and the build fails early when
one is missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sitebuild.data import DataIndex
from sitebuild.errors import BuildError


@dataclass(frozen=True)
class FigureKind:
    name: str
    description: str
    files: tuple[str, ...] = ()  # result files each model must have
    optional_files: tuple[str, ...] = ()  # linked when present
    items: bool = True  # needs the dataset's items.json (previews)
    max_models: int | None = 1  # None: several models
    dataset_required: bool = True
    training: bool = False  # needs a manifest "training" entry
    augmentation: bool = False  # needs manifest "augmentations" entries for the dataset
    live: bool = False  # runs the models in the page: needs their manifest "live" entries


FIGURE_KINDS: dict[str, FigureKind] = {
    k.name: k
    for k in [
        FigureKind("heatmap", "similarity matrix of one model on one dataset", ("similarity",), ("gap",)),
        FigureKind("scatter", "2-D projection of both modalities", ("projections",), ("gap",)),
        FigureKind(
            "explorer",
            "linked heatmap, projection and retrieval views",
            ("similarity", "projections", "retrieval"),
            ("gap",),
            max_models=None,
        ),
        FigureKind(
            "compare", "several models side by side", ("similarity",), ("projections", "gap"), max_models=None
        ),
        FigureKind(
            "landscape", "loss against a shift along the gap vector", ("gap",), items=False, max_models=None
        ),
        FigureKind(
            "metrics",
            "gap and retrieval metrics from the manifest",
            (),
            items=False,
            max_models=None,
            dataset_required=False,
        ),
        FigureKind("retrieval", "top-k retrieval in both directions", ("retrieval",)),
        FigureKind(
            "training",
            "training curves and embedding snapshots",
            (),
            items=False,
            dataset_required=False,
            training=True,
        ),
        FigureKind("zeroshot", "zero-shot classification per prompt template", ("zeroshot",)),
        FigureKind(
            "augmentation",
            "embeddings under rotation, blur, noise and shifts (augmentation series)",
            (),
            max_models=None,
            augmentation=True,
        ),
        FigureKind(
            "describe",
            "the reader's descriptions of a chosen or drawn image: softmax, prefix, occlusion saliency",
            max_models=None,
            live=True,
        ),
        FigureKind(
            "saliency",
            "Grad-CAM maps precomputed at export and the pointing game on generated scenes",
            max_models=None,
            live=True,
        ),
        FigureKind(
            "ask",
            "a caption the reader types, embedded in the page: similarities, ranking, projections, gap",
            max_models=None,
            live=True,
        ),
    ]
}

FIELDS = ("dataset", "models", "model", "options", "alt", "layout", "height")
LAYOUTS = ("text", "wide", "full")
FIGURE_ID = re.compile(r"^[A-Za-z][\w-]*$")


@dataclass
class DataLink:
    label: str
    rel: str  # relative to the data folder
    size: int


@dataclass
class Figure:
    kind: str
    id: str
    number: int
    dataset: str | None
    models: list[str]
    options: dict[str, Any]
    alt: str
    layout: str
    classes: list[str]
    files: list[DataLink] = field(default_factory=list)
    untrained: list[str] = field(default_factory=list)  # labels of models with random weights
    vectors_only: list[str] = field(default_factory=list)  # labels of models without encoders (recovered)
    sample: dict[str, Any] | None = None  # {n, n_all, stratified_by} when the figure shows a sample of its dataset
    line: int = 0


def parse_scalar(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?", text):
        return float(text)
    return text.strip("\"'")


def parse_options(text: str, where: str) -> dict[str, Any]:
    """``a=1, b=two`` or a JSON object."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BuildError(f"figure options are not valid JSON: {exc.msg}", where=where) from exc
        if not isinstance(value, dict):
            raise BuildError("figure options must be a JSON object", where=where)
        return value
    out: dict[str, Any] = {}
    for part in re.split(r"[,;]\s*", text):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][\w-]*", key):
            raise BuildError(
                f"figure option {part.strip()!r} is not 'name=value'; write e.g. 'options: quadrant=image-text, sort=clusters'",
                where=where,
            )
        out[key] = parse_scalar(value.strip())
    return out


def parse_header_attrs(text: str, where: str) -> tuple[str | None, list[str]]:
    """``{#fig-id .wide .tall}`` after the kind."""
    text = text.strip()
    if not text:
        return None, []
    match = re.fullmatch(r"\{([^}]*)\}", text)
    if not match:
        raise BuildError(
            f"unexpected {text!r} after the figure kind; write '::: figure KIND {{#fig-id}}'", where=where
        )
    fig_id = None
    classes = []
    for part in match.group(1).split():
        if part.startswith("#"):
            fig_id = part[1:]
        elif part.startswith("."):
            classes.append(part[1:])
        else:
            raise BuildError(f"figure attribute {part!r} is neither '#id' nor '.class'", where=where)
    return fig_id, classes


def _split_models(text: str) -> list[str]:
    return [m.strip() for m in re.split(r"[,\s]+", text) if m.strip()]


def _size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size / 1024 / 1024:.1f} MB"


def resolve_figure(
    kind_name: str,
    fig_id: str,
    number: int,
    fields: dict[str, str],
    classes: list[str],
    data: DataIndex,
    where: str,
    field_where: dict[str, str] | None = None,
) -> Figure:
    """Check a figure directive against the export and list the files it uses.

    ``where`` locates the directive; ``field_where`` locates each field's line, so an error in
    one field points at it.
    """

    def at(key: str) -> str:
        return (field_where or {}).get(key, where)

    kind = FIGURE_KINDS.get(kind_name)
    if kind is None:
        raise BuildError(
            f"unknown figure kind {kind_name!r}; use one of: {', '.join(FIGURE_KINDS)}", where=where
        )
    alt = " ".join(fields.get("alt", "").split())
    if not alt:
        raise BuildError(
            f"figure {fig_id!r} has no alt text; add 'alt: <what the figure shows, in a sentence or two>'",
            where=where,
        )
    layout = fields.get("layout", "").strip() or next((c for c in classes if c in LAYOUTS), "text")
    if layout not in LAYOUTS:
        raise BuildError(f"figure layout {layout!r} is not one of {', '.join(LAYOUTS)}", where=at("layout"))
    options = parse_options(fields.get("options", ""), at("options"))
    if "height" in fields:
        options.setdefault("height", parse_scalar(fields["height"].strip()))
    data.require(where)
    dataset = fields.get("dataset", "").strip() or None
    if dataset is not None:
        data.dataset(dataset, at("dataset"))
    elif kind.dataset_required:
        known = ", ".join(data.datasets) or "none"
        raise BuildError(
            f"figure {fig_id!r} ({kind.name}) needs 'dataset: NAME' (the export has: {known})", where=where
        )

    model_key = "models" if "models" in fields else "model"
    model_text = fields.get(model_key, "").strip()
    if kind.augmentation:
        # Series models (e.g. Amumo's) need not be export models: the manifest's entries name them.
        assert dataset is not None
        if model_text and model_text.lower() != "all":
            chosen = [data.augmentation_entry(m, dataset, at(model_key)) for m in _split_models(model_text)]
        else:
            chosen = data.augmentation_entries(dataset, where)
        models = [e["model"] for e in chosen]
    elif model_text and model_text.lower() != "all":
        models = [data.model(m, at(model_key))["name"] for m in _split_models(model_text)]
    elif kind.max_models is None:
        # Several-model kinds default to every model with results for the dataset.
        models = data.models_with_results(dataset) if dataset else list(data.models)
        if kind.live:  # ... that the page can run
            models = [m for m in models if _live_entry(data, m)]
        if not models:
            raise BuildError(
                f"no model has results for dataset {dataset!r}; check the export config", where=where
            )
    else:
        raise BuildError(f"figure {fig_id!r} ({kind.name}) needs 'model: NAME' (one model)", where=where)
    if kind.max_models is not None and len(models) > kind.max_models:
        raise BuildError(
            f"figure {fig_id!r} ({kind.name}) shows one model but lists {len(models)}; use 'compare' or 'explorer' for several",
            where=where,
        )
    if len(set(models)) != len(models):
        raise BuildError(f"figure {fig_id!r} lists a model twice", where=where)

    links: list[DataLink] = []
    seen: set[str] = set()

    def link(label: str, rel: str) -> None:
        if rel not in seen:
            seen.add(rel)
            links.append(DataLink(label, rel, (data.data_dir / rel).stat().st_size))

    link("manifest", "manifest.json")
    if kind.augmentation:
        for entry in chosen:
            link(f"augmentation ({entry['label']})", entry["file"])
    if kind.training:
        for model in models:
            entry = data.training_entry(model, dataset, where)
            link(f"training curve ({model})", entry["file"])
            if dataset is None and entry.get("dataset") in data.datasets:
                dataset = entry["dataset"]
    for model in models:
        if dataset is None:
            continue
        if kind.name == "zeroshot" and not data.models[model]["capabilities"]["encode_texts"]:
            raise BuildError(
                f"figure {fig_id!r} (zeroshot) needs a text encoder, and {model} declares none (its vectors "
                "were computed elsewhere); choose a model that encodes texts",
                where=where,
            )
        if kind.files or kind.optional_files or kind.name == "metrics":
            data.result(model, dataset, where)  # the model must have been run on the dataset
        for file_kind in kind.files:
            link(f"{file_kind} ({model})", data.result_file(model, dataset, file_kind, where))
        for file_kind in kind.optional_files:
            rel = data.optional_result_file(model, dataset, file_kind, where)
            if rel:
                link(f"{file_kind} ({model})", rel)
    if kind.live:
        for model in models:
            entry = _live_entry(data, model)
            if entry is None:
                raise BuildError(
                    f"figure {fig_id!r} ({kind.name}) runs {model} in the page, but the export has no encoders "
                    "for it; set live = true on that model in the export config and re-export",
                    where=where,
                )
            link(f"encoders for the page ({model})", entry["file"])
    if dataset is not None and (kind.items or kind.training):
        if kind.items:
            link(f"items ({dataset})", data.items_file(dataset, where))
        elif (
            data.datasets[dataset].get("items")
            and (data.data_dir / data.datasets[dataset]["items"]).is_file()
        ):
            link(f"items ({dataset})", data.items_file(dataset, where))

    untrained = _labels(data, models, lambda entry: entry.get("trained") is False)
    # Figures where a reader may look for a search box or zero-shot say which models cannot have one.
    vectors_only = (
        _labels(data, models, lambda entry: not _has_encoders(entry)) if kind.name in QUERY_KINDS else []
    )
    return Figure(
        sample=_sample(data, dataset) if kind.name != "metrics" else None,
        kind=kind.name,
        id=fig_id,
        number=number,
        dataset=dataset,
        models=models,
        options=options,
        alt=alt,
        layout=layout,
        classes=[c for c in classes if c not in LAYOUTS],
        files=links,
        untrained=untrained,
        vectors_only=vectors_only,
    )


QUERY_KINDS = ("explorer", "heatmap", "scatter", "compare", "retrieval")


def _labels(data: DataIndex, models: list[str], flagged) -> list[str]:
    """Labels of the figure's models whose manifest entry `flagged` picks, for the figure's notes."""
    return [data.models[m].get("label") or m for m in models if m in data.models and flagged(data.models[m])]


def _sample(data: DataIndex, dataset: str | None) -> dict[str, Any] | None:
    """The figure sample of a dataset larger than the export's figure_pairs (exporter/statistics.py)."""
    entry = data.datasets.get(dataset) if dataset else None
    if not entry or not entry.get("sample"):
        return None
    return {"n": entry["n"], "n_all": entry["n_all"], "stratified_by": entry["sample"].get("stratified_by")}


def _has_encoders(model_entry: dict) -> bool:
    """The manifest's declared capabilities: can the model embed a new text or image?"""
    capabilities = model_entry["capabilities"]
    return bool(capabilities["encode_texts"] or capabilities["encode_images"])


def _live_entry(data: DataIndex, model: str) -> dict | None:
    return next((e for e in (data.manifest or {}).get("live", []) if e.get("model") == model), None)


def size_label(link: DataLink) -> str:
    return _size_label(link.size)
