"""Zero-shot classification: images against one text embedding per class."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from exporter.analyses._checks import as_matrix, embeddings, positive_scale
from exporter.errors import ExportError


def classify(image: np.ndarray, class_text: np.ndarray, *, logit_scale: float) -> np.ndarray:
    """Class probabilities per image: softmax over classes of ``logit_scale * cos``.

    image: N x D; class_text: C x D, one embedding per class prompt (e.g. the
    class name in a template such as "a photo of a {}."). Returns N x C rows
    that sum to 1, as CLIP's zero-shot classifier (and miniClip) computes them.
    """
    img = embeddings(image, "image")
    classes = embeddings(class_text, "class_text")
    if img.shape[1] != classes.shape[1]:
        raise ExportError(
            f"image and class_text must have the same dimension, got {img.shape[1]} and {classes.shape[1]}"
        )
    return softmax(positive_scale(logit_scale) * (img @ classes.T), axis=1)


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of items whose most probable class is their label (ties: lower class index)."""
    p = as_matrix(probs, "probs")
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ExportError(
            f"labels must be a 1-D array with one entry per row of probs ({p.shape[0]}), got shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise ExportError(f"labels must be integer class indices, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ExportError(
            f"labels must be class indices in [0, {p.shape[1] - 1}], got values from {y.min()} to {y.max()}"
        )
    return float(np.mean(np.argmax(p, axis=1) == y))
