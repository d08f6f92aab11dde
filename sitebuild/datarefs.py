"""The data-reference language: ``{{ KIND ARGS | FORMAT }}`` values and ``::: if LEFT OP RIGHT`` tests.

Parsing, formatting and comparing live here; finding what a reference names in
the export is the data index's job (sitebuild/data.py). The syntax is documented
in sitebuild/SYNTAX.md.
"""

from __future__ import annotations

import math
import operator
import re
import shlex
from dataclasses import dataclass
from typing import Any

from sitebuild.data import DataIndex
from sitebuild.errors import BuildError

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
    elif kind == "interval":
        _need(ref, 3, "interval MODEL DATASET NAME[.SUB]", where)
        model, dataset, path = ref.args
        entry = data.result(model, dataset, where)
        statistics = entry.get("statistics")
        if not statistics:
            raise BuildError(
                f"the result of {entry['model']} on {dataset} has no statistics (intervals); re-export it",
                where=where,
            )
        closed = path.startswith("closed.")
        source = statistics.get("closed_intervals" if closed else "intervals", {})
        value = lookup_path(
            source, path.removeprefix("closed."), where,
            f"{'closed ' if closed else ''}intervals of {entry['model']} on {dataset}",
        )
        if _is_interval(value):  # both ends, each in the format: "0.78–0.92"
            low, high = (format_value(v, ref.fmt, where, ref.source) for v in value)
            return value, f"{low}\u2013{high}"
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
            f"unknown data reference kind {kind!r}; use metric, interval, model, dataset, count, result, training, "
            "augmentation or manifest",
            where=where,
        )
    return value, format_value(value, ref.fmt, where, ref.source)


def _is_interval(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)


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
    if _is_interval(value):
        raise BuildError(
            f"data reference '{ref.source}' is an interval (two numbers); compare one end: "
            f"'{ref.source}.0' (low) or '{ref.source}.1' (high)",
            where=where,
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BuildError(
            f"data reference '{ref.source}' is {'text' if isinstance(value, str) else 'yes/no'} "
            f"({value!r}), not a number; "
            "a comparison needs a numeric value on both sides",
            where=where,
        )
    return value
