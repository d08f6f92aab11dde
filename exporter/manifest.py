"""Merging a fresh export with the output of an earlier one (`--only` keeps the other results)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from exporter.contract import SCHEMA_VERSION
from exporter.errors import ExportError


@dataclass
class KeptOutput:
    """Manifest entries of the previous output that this run does not redo."""

    results: list[dict] = field(default_factory=list)
    training: list[dict] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    datasets: list[dict] = field(default_factory=list)
    augmentations: list[dict] = field(default_factory=list)


def carry_over(out_dir: Path, staging: Path, only: set[str] | None) -> KeptOutput:
    """With --only, copy the previous output into the staging folder and return its manifest entries."""
    if only is None or not (out_dir / "manifest.json").exists():
        return KeptOutput()
    path = out_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        kept = KeptOutput(
            *(list(manifest[key]) for key in ("results", "training", "models", "datasets")),
            augmentations=list(manifest.get("augmentations", [])),
        )
        if manifest.get("schema_version") != SCHEMA_VERSION:
            raise KeyError(
                f"data format {manifest.get('schema_version')!r}, this exporter writes {SCHEMA_VERSION}"
            )
    except (ValueError, KeyError, TypeError) as error:  # bad JSON, bad UTF-8, missing or odd keys
        raise ExportError(
            f"{path} is damaged ({type(error).__name__}: {error}), so --only cannot keep the other "
            "results; run the export without --only to rewrite everything"
        ) from error
    shutil.copytree(out_dir, staging, dirs_exist_ok=True)
    (staging / "build-info.json").unlink(missing_ok=True)
    return kept


def merge(kept: list[dict], fresh: list[dict], keys: tuple[str, ...], order: list[str] | None) -> list[dict]:
    """Fresh entries replace kept ones with the same key; order follows the config where given."""
    merged = {tuple(e[k] for k in keys): e for e in kept}
    for entry in fresh:
        merged[tuple(entry[k] for k in keys)] = entry
    entries = list(merged.values())
    if order is not None:
        rank = {name: i for i, name in enumerate(order)}
        entries.sort(key=lambda e: rank.get(e[keys[0]], len(rank)))
    return entries
