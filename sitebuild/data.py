"""The exported data as the site build sees it: the manifest, its files, their hashes, data-bound values.

The build never trusts a reference: every dataset, model, result file and
number the article names is checked here, so a missing export fails the build
instead of a reader's browser.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
import shlex
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


# -- data-bound prose ---------------------------------------------------------------------------------

FORMATS = ("fixed", "pct", "int", "sig", "signed", "text", "times")


@dataclass(frozen=True)
class DataRef:
    """One ``{{ ... }}`` reference: what to look up and how to format it."""

    kind: str
    args: tuple[str, ...]
    fmt: str | None
    source: str  # as written, for the title attribute


def parse_data_ref(inner: str, where: str) -> DataRef:
    text, _, fmt = inner.partition("|")
    try:
        parts = shlex.split(text.strip())
    except ValueError as exc:
        raise BuildError(f"cannot read data reference '{{{{{inner}}}}}': {exc}", where=where) from exc
    if not parts:
        raise BuildError("empty data reference '{{ }}'; see sitebuild/SYNTAX.md", where=where)
    fmt = fmt.strip() or None
    if fmt is not None:
        name = fmt.split(":", 1)[0]
        if name not in FORMATS:
            raise BuildError(f"unknown number format {fmt!r}; use one of {', '.join(FORMATS)}", where=where)
    return DataRef(kind=parts[0], args=tuple(parts[1:]), fmt=fmt, source=" ".join(parts))


def lookup_path(obj: Any, path: str, where: str, what: str) -> Any:
    """Follow a dotted path; keys may themselves hold dots (e.g. zero-shot templates)."""
    remaining = path
    current = obj
    walked: list[str] = []
    while remaining:
        if isinstance(current, dict):
            # Longest key first, so 'a photo of a {}.' wins over 'a photo of a {}'.
            match = next(
                (
                    k
                    for k in sorted(current, key=len, reverse=True)
                    if remaining == k or remaining.startswith(k + ".")
                ),
                None,
            )
            if match is None:
                head = remaining.split(".", 1)[0]
                known = ", ".join(sorted(map(str, current))[:12])
                raise BuildError(
                    f"{what} has no {'.'.join([*walked, head])!r}; available here: {known}", where=where
                )
            current = current[match]
            walked.append(match)
            remaining = remaining[len(match) + 1 :]
        elif isinstance(current, list):
            head, _, rest = remaining.partition(".")
            if not re.fullmatch(r"-?\d+", head) or not -len(current) <= int(head) < len(current):
                raise BuildError(
                    f"{what}: {'.'.join(walked) or 'value'} is a list of {len(current)}; index it with 0..{len(current) - 1} or -1",
                    where=where,
                )
            current = current[int(head)]
            walked.append(head)
            remaining = rest
        else:
            raise BuildError(f"{what}: {'.'.join(walked)} is a single value; drop {remaining!r}", where=where)
    return current


def format_value(value: Any, fmt: str | None, where: str, ref: str) -> str:
    if value is None:
        raise BuildError(f"data reference '{ref}' is empty (null) in the export", where=where)
    if isinstance(value, (dict, list)):
        keys = ", ".join(sorted(map(str, value))[:10]) if isinstance(value, dict) else f"{len(value)} entries"
        raise BuildError(f"data reference '{ref}' points at a group ({keys}); name one value", where=where)
    name, _, arg = (fmt or "").partition(":")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if name not in ("", "text"):
            raise BuildError(
                f"data reference '{ref}' is text ({value!r}); format {fmt!r} needs a number", where=where
            )
        return value
    number = float(value)
    if not math.isfinite(number):
        raise BuildError(f"data reference '{ref}' is not a finite number", where=where)
    try:
        digits = int(arg) if arg else None
    except ValueError:
        raise BuildError(f"format {fmt!r}: the part after ':' must be a whole number", where=where) from None
    if name == "":
        name = "int" if isinstance(value, int) else "fixed"
    if name == "fixed":
        return f"{number:,.{2 if digits is None else digits}f}"
    if name == "signed":
        return f"{number:+,.{2 if digits is None else digits}f}".replace("-", "\u2212")
    if name == "pct":
        return f"{number * 100:.{0 if digits is None else digits}f}%"
    if name == "int":
        return f"{round(number):,}"
    if name == "sig":
        return f"{number:.{3 if digits is None else digits}g}"
    if name == "times":
        return f"{number:.{1 if digits is None else digits}f}\u00d7"
    return f"{number}"  # 'text' on a number: as exported


def _need(ref: DataRef, count: int, usage: str, where: str) -> None:
    if len(ref.args) != count:
        raise BuildError(f"'{{{{ {ref.source} }}}}': write it as '{{{{ {usage} }}}}'", where=where)


def resolve_data_ref(ref: DataRef, data: DataIndex, where: str) -> tuple[Any, str]:
    """The raw value and its formatted text; raises BuildError if it does not exist."""
    kind = ref.kind
    if kind == "metric":
        _need(ref, 3, "metric MODEL DATASET NAME[.SUB]", where)
        model, dataset, path = ref.args
        entry = data.result(model, dataset, where)
        value = lookup_path(
            entry.get("metrics", {}), path, where, f"metrics of {entry['model']} on {dataset}"
        )
    elif kind == "model":
        _need(ref, 2, "model MODEL FIELD", where)
        entry = data.model(ref.args[0], where)
        value = lookup_path(entry, ref.args[1], where, f"model {entry['name']}")
    elif kind == "dataset":
        _need(ref, 2, "dataset DATASET FIELD", where)
        entry = data.dataset(ref.args[0], where)
        value = lookup_path(entry, ref.args[1], where, f"dataset {ref.args[0]}")
    elif kind == "count":
        value = _count(ref, data, where)
    elif kind == "result":
        _need(ref, 4, "result MODEL DATASET FILE PATH", where)
        model, dataset, file_kind, path = ref.args
        rel = data.result_file(model, dataset, file_kind, where)
        value = lookup_path(data.load_json(rel, where), path, where, f"{rel}")
    elif kind == "training":
        _need(ref, 2, "training MODEL PATH", where)
        entry = data.training_entry(ref.args[0], None, where)
        value = lookup_path(data.load_json(entry["file"], where), ref.args[1], where, entry["file"])
    elif kind == "augmentation":
        _need(ref, 3, "augmentation MODEL DATASET PATH", where)
        entry = data.augmentation_entry(ref.args[0], ref.args[1], where)
        value = lookup_path(data.load_json(entry["file"], where), ref.args[2], where, entry["file"])
    elif kind == "manifest":
        _need(ref, 1, "manifest FIELD", where)
        value = lookup_path(data.require(where), ref.args[0], where, "manifest")
    else:
        raise BuildError(
            f"unknown data reference kind {kind!r}; use metric, model, dataset, count, result, training, augmentation or manifest",
            where=where,
        )
    return value, format_value(value, ref.fmt, where, ref.source)


def _count(ref: DataRef, data: DataIndex, where: str) -> int:
    manifest = data.require(where)
    what = ref.args[0] if ref.args else ""
    if what in ("models", "datasets", "results") and len(ref.args) == 1:
        return len(manifest.get(what, []))
    if what == "pairs" and len(ref.args) == 2:
        return int(data.dataset(ref.args[1], where)["n"])
    if what == "classes" and len(ref.args) == 2:
        items = data.load_json(data.items_file(ref.args[1], where), where)
        classes = items.get("classes")
        if not classes:
            raise BuildError(f"dataset {ref.args[1]!r} has no classes (no labels)", where=where)
        return len(classes)
    if what == "models" and len(ref.args) == 2:
        return len(data.models_with_results(data.dataset(ref.args[1], where)["name"]))
    raise BuildError(
        f"'{{{{ {ref.source} }}}}': count one of: models, datasets, results, 'pairs DATASET', "
        "'classes DATASET', 'models DATASET'",
        where=where,
    )


# -- data comparisons (``::: if LEFT OP RIGHT`` / ``::: unless ...``) ----------------------------------

COMPARISONS = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}
# One shell word as shlex reads it: unquoted characters, backslash escapes and quoted runs.
_SHELL_WORD = re.compile(r"""(?:[^\s"'\\]|\\.|"(?:[^"\\]|\\.)*"|'[^']*')+""")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def evaluate_comparison(text: str, data: DataIndex, where: str, directive: str = "if") -> bool:
    """Evaluate ``LEFT OP RIGHT`` where each side is a data reference (as inside ``{{ }}``) or a number."""
    written = f"'::: {directive}{' ' + text if text else ''}'"
    usage = (
        f"write it as '::: {directive} metric MODEL DATASET NAME > 0.5' with one of "
        f"{', '.join(COMPARISONS)} between two data references or numbers, spaces around it"
    )
    try:
        shlex.split(text)
    except ValueError as exc:
        raise BuildError(f"cannot read {written}: {exc}; close the quotes", where=where) from exc
    # Raw words keep their quotes, so a quoted '">"' argument is not taken for the operator.
    words = _SHELL_WORD.findall(text)
    positions = [index for index, word in enumerate(words) if word in COMPARISONS]
    if not positions:
        odd = next((w for w in words if re.fullmatch(r"[<>=!]+", w)), None)
        if odd is not None:
            raise BuildError(
                f"unknown comparison operator {odd!r} in {written}; use one of {', '.join(COMPARISONS)}",
                where=where,
            )
        raise BuildError(f"{written} compares nothing; {usage}", where=where)
    if len(positions) > 1:
        raise BuildError(
            f"{written} has {len(positions)} comparison operators; compare two values per section "
            f"(nest two '::: {directive}' sections for a range)",
            where=where,
        )
    index = positions[0]
    op = words[index]
    left, right = words[:index], words[index + 1 :]
    if not left or not right:
        side = "left" if not left else "right"
        raise BuildError(f"{written} has nothing on the {side} of {op!r}; {usage}", where=where)
    a = _comparison_value(left, data, where)
    b = _comparison_value(right, data, where)
    return bool(COMPARISONS[op](a, b))


def _comparison_value(words: list[str], data: DataIndex, where: str) -> float | int:
    if len(words) == 1 and _NUMBER.fullmatch(words[0]):
        return float(words[0])
    ref = parse_data_ref(" ".join(words), where)
    if ref.fmt is not None:
        raise BuildError(
            f"'{ref.source} | {ref.fmt}' in a comparison: conditions compare the exported value; "
            f"drop '| {ref.fmt}'",
            where=where,
        )
    value, _ = resolve_data_ref(ref, data, where)  # fails for missing data, null, groups, inf/nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BuildError(
            f"data reference '{ref.source}' is {'text' if isinstance(value, str) else 'yes/no'} "
            f"({value!r}), not a number; "
            "a comparison needs a numeric value on both sides",
            where=where,
        )
    return value
