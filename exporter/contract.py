"""The data contract on the Python side: typed arrays, canonical JSON, atomic writes.

The browser decodes the same forms (site/static/js/contract.js). See
docs/ARCHITECTURE.md for the file formats.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from exporter.errors import ExportError
from outfolder.errors import DiskFullError, is_disk_full

SCHEMA_VERSION = 3  # 2: gap.json names one gap-step file per step; 3: projections fitted once (a frame per method, points per gap step), registry, model capabilities
SCHEMA_DIR = Path(__file__).parent / "schema"
# Written into every export folder: only folders holding it are ever replaced by an export.
EXPORT_MARKER = ".exporter"
EXPORT_MARKER_TEXT = "Written by `python -m exporter export`; this folder is replaced by every export.\n"
# The same guard for `python -m exporter import ...`: it replaces only folders it wrote itself.
IMPORT_MARKER = ".exporter-import"
IMPORT_MARKER_TEXT = "Written by `python -m exporter import`; this folder is replaced by every import into it.\n"

# Quantised integer ranges; i2 is kept symmetric so 0 maps to the offset.
_QUANT_RANGES = {"u1": (0, 255), "u2": (0, 65535), "i2": (-32767, 32767)}
_NUMPY_DTYPES = {
    "u1": "<u1",
    "u2": "<u2",
    "i2": "<i2",
    "i4": "<i4",
    "u4": "<u4",
    "f4": "<f4",
    "f8": "<f8",
}
SIGNIFICANT_DIGITS = 6


def round_float(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """Round to a few significant digits so JSON stays short and stable."""
    if not np.isfinite(value):
        raise ExportError(f"non-finite number {value!r} cannot be written to a data file")
    return float(f"{float(value):.{digits}g}")


def round_floats(obj: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """Recursively round every float (and numpy scalar) inside a JSON-like object."""
    if isinstance(obj, dict):
        return {str(k): round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_floats(v, digits) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return round_float(float(obj), digits)
    return obj


def _shape_string(array: np.ndarray) -> str:
    return ",".join(str(s) for s in array.shape)


def encode_array(values: Any, dtype: str, *, lo: float | None = None, hi: float | None = None) -> dict:
    """Encode an array as a plotly-style typed array.

    Quantised dtypes (u1, u2, i2) store value = offset + scale * q with the
    range [lo, hi] (default: the array's min and max). Integer dtypes given
    integer data (indices) and float dtypes store raw values.
    """
    array = np.asarray(values)
    if array.ndim not in (1, 2):
        raise ExportError(f"typed arrays must be 1-D or 2-D, got shape {array.shape}")
    if array.size and not np.all(np.isfinite(array.astype(np.float64))):
        raise ExportError("array contains NaN or infinite values; check the embeddings that produced it")
    out: dict[str, Any] = {"dtype": dtype, "shape": _shape_string(array)}
    if dtype in _QUANT_RANGES and not np.issubdtype(array.dtype, np.integer):
        qmin, qmax = _QUANT_RANGES[dtype]
        data = array.astype(np.float64)
        lo = float(data.min()) if lo is None and data.size else (0.0 if lo is None else float(lo))
        hi = float(data.max()) if hi is None and data.size else (1.0 if hi is None else float(hi))
        span = hi - lo
        scale = span / (qmax - qmin) if span > 0 else 1.0
        if dtype == "i2":
            offset = (hi + lo) / 2.0
            q = np.rint((data - offset) / scale) if span > 0 else np.zeros_like(data)
        else:
            offset = lo
            q = np.rint((data - offset) / scale) if span > 0 else np.zeros_like(data)
        q = np.clip(q, qmin, qmax).astype(_NUMPY_DTYPES[dtype])
        out["offset"] = float(offset)
        out["scale"] = float(scale)
        raw = q
    elif dtype in _NUMPY_DTYPES:
        raw = array.astype(_NUMPY_DTYPES[dtype])
        if np.issubdtype(array.dtype, np.integer) and not np.array_equal(
            raw.astype(np.int64), array.astype(np.int64)
        ):
            raise ExportError(f"integer values do not fit dtype {dtype}")
    else:
        raise ExportError(f"unknown typed-array dtype {dtype!r}; use one of {sorted(_NUMPY_DTYPES)}")
    out["bdata"] = base64.b64encode(np.ascontiguousarray(raw).tobytes()).decode("ascii")
    return out


def decode_array(obj: dict) -> np.ndarray:
    """Inverse of encode_array (up to quantisation): returns float64 or integer values."""
    dtype = obj["dtype"]
    raw = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=_NUMPY_DTYPES[dtype])
    shape = tuple(int(s) for s in str(obj["shape"]).split(","))
    raw = raw.reshape(shape)
    if "offset" in obj or "scale" in obj:
        return obj.get("offset", 0.0) + obj.get("scale", 1.0) * raw.astype(np.float64)
    return raw.copy()


def quantisation_step(obj: dict) -> float:
    """Largest rounding error of a quantised typed array (half a step)."""
    return 0.5 * float(obj.get("scale", 0.0))


def canonical_json(obj: Any) -> str:
    """The one serialisation used for every data file: sorted keys, no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; data files are public
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(error):  # a write error carries no file name: name the file
            raise DiskFullError(path) from error
        raise


def write_json_atomic(path: Path, obj: Any, *, schema: str | None = None) -> None:
    """Round floats, validate against a schema if given, and write canonically."""
    payload = round_floats(obj)
    if schema is not None:
        validate(payload, schema, where=str(path))
    write_bytes_atomic(path, (canonical_json(payload) + "\n").encode("utf-8"))


@cache
def load_schema(name: str) -> dict:
    path = SCHEMA_DIR / f"{name}.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _registry():
    """Every schema file, registered for $refs between them."""
    from referencing import Registry, Resource

    resources = [
        (p.name, Resource.from_contents(json.loads(p.read_text(encoding="utf-8"))))
        for p in SCHEMA_DIR.glob("*.schema.json")
    ]
    return Registry().with_resources(resources)


@cache
def _validator(schema: str):
    return validator_for(load_schema(schema))


def validator_for(schema: dict):
    """A validator of a schema dict (e.g. a file's schema narrowed by a registry) that can $ref the files."""
    import jsonschema

    return jsonschema.Draft202012Validator(schema, registry=_registry())


def validate(payload: Any, schema: str, *, where: str, validator=None) -> None:
    """Validate a data object against one of the repo's JSON Schemas (or the given validator of it)."""
    import jsonschema

    checker = validator or _validator(schema)
    error = jsonschema.exceptions.best_match(checker.iter_errors(payload))
    if error is not None:
        location = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ExportError(f"{where}: data does not match {schema}.schema.json at {location}: {error.message}")
