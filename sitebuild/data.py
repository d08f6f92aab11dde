"""The exported data as the site build sees it: the manifest, its files and their hashes.

The build never trusts a reference: every dataset, model and result file the
article names is checked here, so a missing export fails the build instead of a
reader's browser. The language the chapters use to name one exported value
(``{{ metric ... }}``, ``::: if ...``) is in sitebuild/datarefs.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sitebuild.contract_check import check_manifest, load_strict_json
from sitebuild.errors import BuildError, location

HASH_LENGTH = 10


def file_hash(path: Path) -> str:
    """Short content hash used for cache-busting query strings."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:HASH_LENGTH]


@dataclass
class DataIndex:
    """The manifest of one export folder plus lazy access to its files."""

    data_dir: Path
    manifest: dict[str, Any] | None
    _json_cache: dict[str, Any] = field(default_factory=dict)
    _hash_cache: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> DataIndex:
        manifest_path = data_dir / "manifest.json"
        if not manifest_path.is_file():
            # An article without figures may build without data; uses of data fail later with a location.
            return cls(data_dir=data_dir, manifest=None)
        manifest = load_strict_json(manifest_path)
        check_manifest(manifest, manifest_path)
        return cls(data_dir=data_dir, manifest=manifest)

    # -- manifest access -------------------------------------------------------------------------

    def require(self, where: str) -> dict[str, Any]:
        if self.manifest is None:
            raise BuildError(
                f"this needs exported data but {location(self.data_dir / 'manifest.json')} does not exist; "
                "run the export (make export) or pass --data with the export folder",
                where=where,
            )
        return self.manifest

    @cached_property
    def models(self) -> dict[str, dict[str, Any]]:
        return {m["name"]: m for m in (self.manifest or {}).get("models", [])}

    @cached_property
    def datasets(self) -> dict[str, dict[str, Any]]:
        return {d["name"]: d for d in (self.manifest or {}).get("datasets", [])}

    @cached_property
    def results(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["model"], r["dataset"]): r for r in (self.manifest or {}).get("results", [])}

    @cached_property
    def training(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for entry in (self.manifest or {}).get("training", []):
            out.setdefault(entry["model"], []).append(entry)
        return out

    def augmentation_entries(self, dataset: str, where: str) -> list[dict[str, Any]]:
        """The manifest's augmentation series of a dataset (exporter/augment.py), files checked."""
        entries = [e for e in (self.manifest or {}).get("augmentations", []) if e.get("dataset") == dataset]
        if not entries:
            have = sorted({e.get("dataset") for e in (self.manifest or {}).get("augmentations", [])}) or [
                "none"
            ]
            raise BuildError(
                f"dataset {dataset!r} has no augmentation series; series exist for: {', '.join(have)} "
                "(set augment_datasets or [[augmentation_series]] in the export config)",
                where=where,
            )
        for entry in entries:
            self.check_file(entry["file"], where, "augmentation")
        return entries

    def augmentation_entry(self, model: str, dataset: str, where: str) -> dict[str, Any]:
        entries = self.augmentation_entries(dataset, where)
        for entry in entries:
            if model in (entry["model"], entry.get("label")) or (
                self._model_name(model) is not None and self._model_name(model) == entry["model"]
            ):
                return entry
        known = ", ".join(e["model"] for e in entries)
        raise BuildError(
            f"no augmentation series of model {model!r} on {dataset!r}; it has: {known}", where=where
        )

    def has_model(self, name: str) -> bool:
        return self.manifest is not None and self._model_name(name) is not None

    def has_dataset(self, name: str) -> bool:
        return self.manifest is not None and name in self.datasets

    def has_result(self, model: str, dataset: str) -> bool:
        model_name = self._model_name(model) if self.manifest is not None else None
        return model_name is not None and (model_name, dataset) in self.results

    def _model_name(self, name: str) -> str | None:
        if name in self.models:
            return name
        # Slugs are accepted too: they are what authors see in file names.
        for model in self.models.values():
            if model.get("slug") == name:
                return model["name"]
        return None

    def model(self, name: str, where: str) -> dict[str, Any]:
        self.require(where)
        resolved = self._model_name(name)
        if resolved is None:
            known = ", ".join(self.models) or "none"
            raise BuildError(f"unknown model {name!r}; the export has: {known}", where=where)
        return self.models[resolved]

    def dataset(self, name: str, where: str) -> dict[str, Any]:
        self.require(where)
        if name not in self.datasets:
            known = ", ".join(self.datasets) or "none"
            raise BuildError(f"unknown dataset {name!r}; the export has: {known}", where=where)
        return self.datasets[name]

    def result(self, model: str, dataset: str, where: str) -> dict[str, Any]:
        model_name = self.model(model, where)["name"]
        self.dataset(dataset, where)
        entry = self.results.get((model_name, dataset))
        if entry is None:
            have = [d for (m, d) in self.results if m == model_name]
            raise BuildError(
                f"model {model_name!r} has no results for dataset {dataset!r} "
                f"(it has results for: {', '.join(have) or 'no dataset'}); add the pair to the export config",
                where=where,
            )
        return entry

    def models_with_results(self, dataset: str) -> list[str]:
        """Models (manifest order) that have results for a dataset."""
        return [m for m in self.models if (m, dataset) in self.results]

    # -- files ---------------------------------------------------------------------------------------

    def check_file(self, rel: str, where: str, what: str) -> str:
        """Verify a manifest-relative file exists; returns the normalised relative path."""
        rel = rel.replace("\\", "/").lstrip("/")
        path = (self.data_dir / rel).resolve()
        if not path.is_relative_to(self.data_dir.resolve()):
            raise BuildError(f"{what} path {rel!r} leaves the data folder; re-run the export", where=where)
        if not path.is_file():
            raise BuildError(
                f"{what} file {location(self.data_dir / rel)} is missing; re-run the export (make export)",
                where=where,
            )
        return rel

    def result_file(self, model: str, dataset: str, file_kind: str, where: str) -> str:
        entry = self.result(model, dataset, where)
        rel = (entry.get("files") or {}).get(file_kind)
        if not rel:
            hint = " (zero-shot needs a dataset with labels)" if file_kind == "zeroshot" else ""
            raise BuildError(
                f"model {entry['model']!r} on dataset {dataset!r} has no {file_kind!r} result file{hint}",
                where=where,
            )
        return self.check_file(rel, where, f"{file_kind} result")

    def optional_result_file(self, model: str, dataset: str, file_kind: str, where: str) -> str | None:
        entry = self.result(model, dataset, where)
        rel = (entry.get("files") or {}).get(file_kind)
        if not rel or not (self.data_dir / rel).is_file():
            return None
        return rel.replace("\\", "/").lstrip("/")

    def items_file(self, dataset: str, where: str) -> str:
        entry = self.dataset(dataset, where)
        rel = entry.get("items")
        if not rel:
            raise BuildError(
                f"dataset {dataset!r} has no items file in the manifest; re-run the export", where=where
            )
        return self.check_file(rel, where, "items")

    def training_entry(self, model: str, dataset: str | None, where: str) -> dict[str, Any]:
        model_name = self.model(model, where)["name"]
        entries = self.training.get(model_name, [])
        if dataset is not None:
            entries = [e for e in entries if e.get("dataset") == dataset]
        if not entries:
            trained = ", ".join(sorted(self.training)) or "none"
            raise BuildError(
                f"model {model_name!r} has no training record"
                + (f" for dataset {dataset!r}" if dataset else "")
                + f"; training curves exist for pocket models only (the export has: {trained})",
                where=where,
            )
        entry = entries[0]
        self.check_file(entry["file"], where, "training")
        return entry

    def load_json(self, rel: str, where: str) -> Any:
        if rel not in self._json_cache:
            path = self.data_dir / rel
            try:
                self._json_cache[rel] = load_strict_json(path)
            except (OSError, json.JSONDecodeError) as exc:
                raise BuildError(
                    f"cannot read {location(path)}: {exc}; re-run the export", where=where
                ) from exc
        return self._json_cache[rel]

    def hash_of(self, rel: str) -> str:
        if rel not in self._hash_cache:
            self._hash_cache[rel] = file_hash(self.data_dir / rel)
        return self._hash_cache[rel]

    @cached_property
    def version(self) -> str:
        """One hash over every data file: changes whenever any export output changes."""
        if not self.data_dir.is_dir():
            return "0" * HASH_LENGTH
        digest = hashlib.sha256()
        for path in sorted(p for p in self.data_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(self.data_dir).as_posix()
            if rel == "build-info.json":
                continue  # times and versions; not part of what a reader fetches
            digest.update(rel.encode())
            digest.update(self.hash_of(rel).encode())
        return digest.hexdigest()[:HASH_LENGTH]
