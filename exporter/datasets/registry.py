"""Dataset kinds: a short name in the export config -> a loader."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from exporter.datasets.base import PairDataset
from exporter.datasets.shared_options import SHARED_OPTIONS, keep_captions, parse_filter, parse_templates
from exporter.errors import ExportError, did_you_mean
from exporter.seeds import DEFAULT_SEED


class DatasetConfigLike(Protocol):
    name: str
    kind: str
    options: dict[str, Any]


class Loader(Protocol):
    def __call__(self, name: str, options: dict[str, Any], *, seed: int, skip_bad: bool) -> PairDataset: ...


@dataclass(frozen=True)
class DatasetKind:
    name: str
    load: Loader
    description: str
    # True when the loader applies the caption filter itself (coco filters before choosing n).
    filters_captions: bool = False


# Each loader imports its module only when called, so a kind whose optional parts are
# missing (e.g. the pocket lab for `shapes`) does not break the others.
def _load_samples(name: str, options: dict[str, Any], **kw) -> PairDataset:
    from exporter.datasets.samples import load_samples

    return load_samples(name, options, **kw)


def _load_shapes(name: str, options: dict[str, Any], **kw) -> PairDataset:
    from exporter.datasets.shapes import load_shapes

    return load_shapes(name, options, **kw)


def _load_pairs_folder(name: str, options: dict[str, Any], **kw) -> PairDataset:
    from exporter.datasets.pairs_folder import load_pairs_folder

    return load_pairs_folder(name, options, **kw)


def _load_coco(name: str, options: dict[str, Any], **kw) -> PairDataset:
    from exporter.datasets.coco import load_coco

    return load_coco(name, options, **kw)


def _load_embeddings_folder(name: str, options: dict[str, Any], **kw) -> PairDataset:
    from exporter.datasets.embeddings import load_embeddings_folder

    return load_embeddings_folder(name, options, **kw)


DATASET_KINDS: dict[str, DatasetKind] = {
    kind.name: kind
    for kind in (
        DatasetKind(
            "samples",
            _load_samples,
            "real photographs bundled with scikit-image, captions written by us (options: n)",
        ),
        DatasetKind(
            "shapes",
            _load_shapes,
            "generated captioned scenes from the pocket lab's held-out split (options: n)",
        ),
        DatasetKind(
            "pairs",
            _load_pairs_folder,
            "a folder with pairs.jsonl or pairs.csv: id, image, text, optional label (options: path, n)",
        ),
        DatasetKind(
            "coco",
            _load_coco,
            "MS-COCO captions + val2017 images (options: path, n, caption=first|random, annotations, images)",
            filters_captions=True,
        ),
        DatasetKind(
            "embeddings",
            _load_embeddings_folder,
            "precomputed embeddings: pairs.jsonl + one folder per model of <modality>.npy (options: path)",
        ),
    )
}


def list_dataset_kinds() -> list[tuple[str, str]]:
    """(kind, description) pairs for help output."""
    return [(kind.name, kind.description) for kind in DATASET_KINDS.values()]


def unknown_kind_message(kind: str, where: str) -> str:
    return f"{where}: unknown dataset kind '{kind}' ({did_you_mean(kind, DATASET_KINDS, cutoff=0.4)})"


def load_dataset(cfg: DatasetConfigLike, *, seed: int = DEFAULT_SEED, skip_bad: bool = False) -> PairDataset:
    """Load the pairs a dataset config describes; every bad input raises ExportError."""
    kind = DATASET_KINDS.get(cfg.kind)
    if kind is None:
        raise ExportError(unknown_kind_message(cfg.kind, f"dataset '{cfg.name}'"))
    options = dict(cfg.options or {})
    where = f"dataset '{cfg.name}' ({cfg.kind})"
    caption_filter = parse_filter(options, where)
    templates = parse_templates(options, where)
    # The loaders see only their own options (coco keeps its filter: it filters before choosing n).
    shared = set(SHARED_OPTIONS) - ({"filter", "match"} if kind.filters_captions else set())
    dataset = kind.load(
        cfg.name, {k: v for k, v in options.items() if k not in shared}, seed=seed, skip_bad=skip_bad
    )
    if caption_filter is not None and not kind.filters_captions:
        keep_captions(dataset, caption_filter)
    if templates is not None:
        dataset.zero_shot_templates = list(templates)
    if not dataset.items:
        raise ExportError(f"dataset '{cfg.name}' ({cfg.kind}): no pairs left to export; check its source")
    if len(dataset.items) < 2:
        raise ExportError(
            f"dataset '{cfg.name}' ({cfg.kind}): only 1 pair; a modality gap needs at least 2, so add pairs"
            + (f" or widen its filter ({caption_filter.describe()})" if caption_filter else "")
        )
    ids = [item.id for item in dataset.items]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise ExportError(f"dataset '{cfg.name}': duplicate item id '{duplicate}'; ids must be unique")
    return dataset
