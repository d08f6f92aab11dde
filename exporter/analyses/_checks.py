"""Input validation shared by the analyses (scikit-learn style: check at the boundary).

Every check raises ExportError with one line naming the argument and what was
expected, so that a bad embedding file is reported where it enters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from exporter.errors import ExportError

# Rows shorter than this cannot be normalised meaningfully (all-zero embeddings).
_MIN_NORM = 1e-12


def as_matrix(values: object, name: str, *, min_rows: int = 1) -> np.ndarray:
    """Return `values` as a finite float64 2-D array or raise ExportError."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"{name} must be a numeric array, got {type(values).__name__} ({exc})") from None
    if array.ndim != 2:
        raise ExportError(f"{name} must be a 2-D array (rows x dims), got shape {array.shape}")
    if array.shape[0] < min_rows or array.shape[1] < 1:
        raise ExportError(f"{name} needs at least {min_rows} row(s) and 1 column, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(array), axis=1))[0])
        raise ExportError(
            f"{name} contains NaN or infinite values (first in row {bad}); check the embeddings"
        )
    return array


def normalise_rows(array: np.ndarray, name: str) -> np.ndarray:
    """L2-normalise rows; all-zero rows are an error (they have no direction)."""
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if np.any(norms < _MIN_NORM):
        bad = int(np.flatnonzero(norms[:, 0] < _MIN_NORM)[0])
        raise ExportError(f"{name} row {bad} is all zeros and cannot be L2-normalised; check the embeddings")
    return array / norms


def embeddings(values: object, name: str, *, min_rows: int = 1) -> np.ndarray:
    """Validate and L2-normalise an N x D embedding matrix.

    Models already return unit rows; renormalising is cheap and makes the
    geometry (centroid distance, cosines) well defined for precomputed vectors too.
    """
    return normalise_rows(as_matrix(values, name, min_rows=min_rows), name)


def paired(image: object, text: object, *, min_rows: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Validate two modalities of the same N pairs in the same D-dimensional space."""
    img = embeddings(image, "image", min_rows=min_rows)
    txt = embeddings(text, "text", min_rows=min_rows)
    if img.shape[0] != txt.shape[0]:
        raise ExportError(
            f"image and text must have one row per pair, got {img.shape[0]} image rows and {txt.shape[0]} text rows"
        )
    if img.shape[1] != txt.shape[1]:
        raise ExportError(
            f"image and text must live in the same space, got {img.shape[1]} and {txt.shape[1]} dimensions"
        )
    return img, txt


def positive_scale(logit_scale: object) -> float:
    """The model's logit scale (1 / temperature) must be a finite positive number."""
    try:
        scale = float(logit_scale)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ExportError(f"logit_scale must be a number, got {logit_scale!r}") from None
    if not np.isfinite(scale) or scale <= 0:
        raise ExportError(f"logit_scale must be finite and positive (1 / temperature), got {logit_scale!r}")
    return scale


def finite_number(value: object, name: str) -> float:
    """A finite float, or ExportError naming the argument."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ExportError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise ExportError(f"{name} must be finite, got {value!r}")
    return number


def optional_bias(logit_bias: object) -> float | None:
    """SigLIP's logit bias: None or a finite number."""
    return None if logit_bias is None else finite_number(logit_bias, "logit_bias")


def seed_int(seed: object) -> int:
    """Seeds are explicit non-negative integers (numpy and scikit-learn accept those)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ExportError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def ks_tuple(ks: Sequence[int]) -> tuple[int, ...]:
    """Validate the cut-offs of recall@k."""
    try:
        values = tuple(int(k) for k in ks)
    except (TypeError, ValueError):
        raise ExportError(f"ks must be a sequence of positive integers, got {ks!r}") from None
    if not values or any(k < 1 for k in values) or any(int(k) != k for k in ks):
        raise ExportError(f"ks must be a non-empty sequence of positive integers, got {ks!r}")
    return values
