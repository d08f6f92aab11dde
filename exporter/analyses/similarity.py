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
