"""Synthetic embeddings with a gap and an alignment known in closed form.

Pairs sit on a circle in the xy-plane at evenly spaced angles; images are
lifted to z = +c and texts to z = -c (a^2 + c^2 = 1). Everything below is
derived by hand from that picture.
"""

from __future__ import annotations

import numpy as np


def circle_pairs(n: int, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(image, text, angles, a) with image_i = (a cos t_i, a sin t_i, c), text_i = (.., .., -c)."""
    a = float(np.sqrt(1.0 - c * c))
    angles = 2.0 * np.pi * np.arange(n) / n
    ring = np.stack([a * np.cos(angles), a * np.sin(angles)], axis=1)
    image = np.hstack([ring, np.full((n, 1), c)])
    text = np.hstack([ring, np.full((n, 1), -c)])
    return image, text, angles, a


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def random_pairs(n: int, d: int, *, gap: float, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generic pairs: shared content plus a constant offset (+gap/-gap) along axis 0, plus noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, d))
    offset = np.zeros(d)
    offset[0] = gap
    image = unit_rows(base + offset + noise * rng.normal(size=(n, d)))
    text = unit_rows(base - offset + noise * rng.normal(size=(n, d)))
    return image, text


def loop_infonce(image: np.ndarray, text: np.ndarray, scale: float) -> tuple[float, float]:
    """InfoNCE by explicit loops (independent of the vectorised code under test)."""
    n = image.shape[0]
    i2t = 0.0
    t2i = 0.0
    for i in range(n):
        row = [scale * float(image[i] @ text[j]) for j in range(n)]
        col = [scale * float(image[j] @ text[i]) for j in range(n)]
        i2t += -row[i] + np.log(sum(np.exp(v) for v in row))
        t2i += -col[i] + np.log(sum(np.exp(v) for v in col))
    return i2t / n, t2i / n
