"""Cosine similarity over stacked modalities (the kN x kN heatmap)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from exporter.analyses._checks import embeddings
from exporter.errors import ExportError


def stacked_similarity(blocks: Sequence[np.ndarray]) -> np.ndarray:
    """Cosine similarity of k modalities of N pairs, stacked modality-major.

    Rows 0..N-1 are modality 0, N..2N-1 modality 1, and so on; quadrant (a, b)
    is ``result[a*N:(a+1)*N, b*N:(b+1)*N]``. Rows are L2-normalised defensively
    and the result is clipped to [-1, 1] (rounding can overshoot by an ulp).
    """
    if isinstance(blocks, np.ndarray) or not isinstance(blocks, Sequence) or len(blocks) == 0:
        raise ExportError("blocks must be a non-empty list of N x D arrays, one per modality")
    arrays = [embeddings(block, f"modality {m}") for m, block in enumerate(blocks)]
    n, dim = arrays[0].shape
    for m, array in enumerate(arrays[1:], start=1):
        if array.shape != (n, dim):
            raise ExportError(
                f"modality {m} has shape {array.shape}, expected {(n, dim)} like modality 0 (same pairs, same space)"
            )
    stacked = np.vstack(arrays)
    matrix = stacked @ stacked.T
    # Exact symmetry keeps quantised files stable whatever BLAS does.
    matrix = (matrix + matrix.T) / 2.0
    np.fill_diagonal(matrix, 1.0)
    return np.clip(matrix, -1.0, 1.0)


def quadrant(matrix: np.ndarray, n: int, a: int, b: int) -> np.ndarray:
    """Quadrant (a, b) of a stacked kN x kN matrix: modality a rows, modality b columns."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or n < 1 or matrix.shape[0] % n:
        raise ExportError(f"matrix of shape {matrix.shape} is not a stack of square blocks of size {n}")
    k = matrix.shape[0] // n
    if not (0 <= a < k and 0 <= b < k):
        raise ExportError(f"quadrant ({a}, {b}) does not exist for {k} modalities")
    return matrix[a * n : (a + 1) * n, b * n : (b + 1) * n]
