"""Closing the modality gap and the loss landscape along the gap direction.

Liang et al. (2022) and Amumo shift each modality along the gap vector
g = mean(image) - mean(text) and renormalise; renormalising bends the points
back onto the sphere, so a little gap remains after a "full" close.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from exporter.analyses._checks import (
    as_matrix,
    finite_number,
    normalise_rows,
    optional_bias,
    paired,
    positive_scale,
)
from exporter.analyses.metrics import RECALL_KS, _infonce, _sigmoid_loss, centroid_distance
from exporter.analyses.retrieval import recall_at_k
from exporter.analyses.similarity import stacked_similarity
from exporter.errors import ExportError

DEFAULT_DELTAS = np.arange(-5, 5.001, 0.25)


def gap_vector(image: np.ndarray, text: np.ndarray) -> np.ndarray:
    """g = mean(image) - mean(text) of L2-normalised rows; its norm is the centroid distance."""
    img, txt = paired(image, text)
    return img.mean(axis=0) - txt.mean(axis=0)


def shift(embeddings: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Add ``offset`` to every row and renormalise.

    Use it to move other embeddings of a modality with the same vector, e.g.
    zero-shot class prompts: ``shift(class_text, +fraction * g / 2)``.
    """
    rows = normalise_rows(as_matrix(embeddings, "embeddings"), "embeddings")
    vector = np.asarray(offset, dtype=np.float64)
    if vector.shape != (rows.shape[1],) or not np.all(np.isfinite(vector)):
        raise ExportError(
            f"offset must be a finite vector of length {rows.shape[1]}, got shape {vector.shape}"
        )
    moved = rows + vector
    if np.any(np.linalg.norm(moved, axis=1) < 1e-9):
        raise ExportError("the shift moved an embedding onto the origin; use a different fraction or delta")
    return normalise_rows(moved, "shifted embeddings")


def close_gap(image: np.ndarray, text: np.ndarray, fraction: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Move images by -fraction*g/2 and texts by +fraction*g/2, then renormalise.

    fraction 0 leaves the embeddings unchanged (but normalised), 1 closes the
    gap as Amumo does (the renormalisation re-introduces a little), values in
    between give the slider steps; values above 1 or below 0 overshoot/widen.
    """
    img, txt = paired(image, text)
    half = finite_number(fraction, "fraction") * (img.mean(axis=0) - txt.mean(axis=0)) / 2.0
    return shift(img, -half), shift(txt, half)


def gap_steps(
    image: np.ndarray,
    text: np.ndarray,
    fractions: Sequence[float],
    *,
    logit_scale: float,
    logit_bias: float | None = None,
) -> list[dict]:
    """Metrics and similarity matrices at several closing fractions (for a slider).

    Each step: fraction, centroid_distance, loss_i2t, loss_t2i, recall_i2t,
    recall_t2i, ``image`` and ``text`` (the shifted N x D arrays), ``similarity``
    (their stacked 2N x 2N cosine matrix), and loss_sigmoid when a bias is given.
    """
    img, txt = paired(image, text, min_rows=2)
    scale = positive_scale(logit_scale)
    bias = optional_bias(logit_bias)
    values = [finite_number(f, "fraction") for f in fractions]
    if not values:
        raise ExportError("fractions must list at least one closing fraction, e.g. [0, 0.5, 1]")
    steps = []
    for fraction in values:
        shifted_img, shifted_txt = close_gap(img, txt, fraction)
        loss_i2t, loss_t2i = _infonce(shifted_img, shifted_txt, scale)
        recall = recall_at_k(shifted_img, shifted_txt, RECALL_KS)
        step = {
            "fraction": fraction,
            "centroid_distance": centroid_distance(shifted_img, shifted_txt),
            "loss_i2t": loss_i2t,
            "loss_t2i": loss_t2i,
            "recall_i2t": recall["i2t"],
            "recall_t2i": recall["t2i"],
            "image": shifted_img,
            "text": shifted_txt,
            "similarity": stacked_similarity([shifted_img, shifted_txt]),
        }
        if bias is not None:
            step["loss_sigmoid"] = _sigmoid_loss(shifted_img, shifted_txt, scale, bias)
        steps.append(step)
    return steps


def _landscape_point(
    img: np.ndarray, txt: np.ndarray, unit: np.ndarray, delta: float, scale: float
) -> tuple[float, float, float]:
    """(signed distance, loss_i2t, loss_t2i) after text +delta/2 and images -delta/2 along `unit`."""
    moved_img = shift(img, -delta / 2.0 * unit)
    moved_txt = shift(txt, delta / 2.0 * unit)
    remaining = moved_img.mean(axis=0) - moved_txt.mean(axis=0)
    # Signed: positive while images are still on their original side of the texts.
    sign = 1.0 if float(remaining @ unit) >= 0 else -1.0
    loss_i2t, loss_t2i = _infonce(moved_img, moved_txt, scale)
    return sign * float(np.linalg.norm(remaining)), loss_i2t, loss_t2i


def loss_landscape(
    image: np.ndarray,
    text: np.ndarray,
    *,
    logit_scale: float,
    logit_bias: float | None = None,
    deltas: Sequence[float] | np.ndarray = DEFAULT_DELTAS,
) -> dict:
    """Contrastive loss against the remaining gap while sliding along the gap (Amumo).

    For each delta, texts move by +delta/2 and images by -delta/2 along the
    unit gap vector u = g/||g||, both renormalised. ``distance`` is the new
    centroid distance, negative once the new gap points against u; ``loss``
    is the mean of the two InfoNCE directions (see metrics.contrastive_loss;
    a SigLIP bias is validated but cancels in the softmax).

    ``original`` is delta = 0; ``closed`` is delta = ||g||, the same shift as
    close_gap(fraction=1), computed with the same formula. A zero gap has no
    direction: then every delta gives the original embeddings.
    """
    img, txt = paired(image, text, min_rows=2)
    scale = positive_scale(logit_scale)
    optional_bias(logit_bias)
    steps = np.asarray(deltas, dtype=np.float64)
    if steps.ndim != 1 or steps.size == 0 or not np.all(np.isfinite(steps)):
        raise ExportError("deltas must be a non-empty 1-D list of finite numbers")
    gap = img.mean(axis=0) - txt.mean(axis=0)
    norm = float(np.linalg.norm(gap))
    unit = gap / norm if norm > 1e-12 else np.zeros_like(gap)

    curve = {"delta": [], "distance": [], "loss": [], "loss_i2t": [], "loss_t2i": []}
    for delta in steps:
        distance, loss_i2t, loss_t2i = _landscape_point(img, txt, unit, float(delta), scale)
        curve["delta"].append(float(delta))
        curve["distance"].append(distance)
        curve["loss"].append((loss_i2t + loss_t2i) / 2.0)
        curve["loss_i2t"].append(loss_i2t)
        curve["loss_t2i"].append(loss_t2i)

    def point(delta: float) -> dict:
        distance, loss_i2t, loss_t2i = _landscape_point(img, txt, unit, delta, scale)
        return {"delta": delta, "distance": distance, "loss": (loss_i2t + loss_t2i) / 2.0}

    return {**curve, "original": point(0.0), "closed": point(norm)}
