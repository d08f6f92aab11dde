"""Amumo's published numbers, recomputed from recovered embeddings.

- gap_distance: ‖mean(image) − mean(text)‖ of the unit embeddings (first two modalities).
- loss: Amumo's own definition, which is not the symmetric InfoNCE loss: the
  image→text cross-entropy at its logit scale over consecutive batches of 50
  pairs (the remainder dropped), averaged over batches; NaN under 50 pairs.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

AMUMO_BATCH = 50
TOLERANCE = 1e-4  # the bar for "reproduces the published value"


def gap_distance(image: np.ndarray, text: np.ndarray) -> float:
    return float(np.linalg.norm(image.mean(axis=0) - text.mean(axis=0)))


def amumo_loss(image: np.ndarray, text: np.ndarray, logit_scale: float, batch: int = AMUMO_BATCH) -> float:
    n = image.shape[0]
    if n < batch:
        return math.nan
    losses = []
    for start in range(0, n - batch + 1, batch):
        logits = logit_scale * image[start : start + batch] @ text[start : start + batch].T
        losses.append(float(np.mean(logsumexp(logits, axis=1) - np.diag(logits))))
    return float(np.mean(losses))


def agrees(measured: float, published: float | None, tolerance: float = TOLERANCE) -> bool | None:
    """True/False against the published value; None when nothing was published."""
    if published is None:
        return None
    if math.isnan(published) or math.isnan(measured):
        return math.isnan(published) and math.isnan(measured)
    return abs(measured - published) <= tolerance
