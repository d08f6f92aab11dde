"""More than two modalities: every modality pair measured, every gap closed at once.

A dataset may stack k modalities (ImageBind: image, text, audio). The gap
measures of `metrics` are defined for two; here they are applied to every
pair (a, b), a < b, named "<a>-<b>" ("image-audio"). In these per-pair
results "i2t" means first -> second modality of the pair.

Closing generalises Liang et al.'s shift: modality m moves by
-fraction * (c_m - c), c_m its centroid and c the mean of all centroids, then
renormalised. For two modalities c_m - c = +-g/2, so this is exactly
gap_shift.close_gap; for k it closes every pairwise gap with one slider.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from exporter.analyses._checks import finite_number, normalise_rows, optional_bias, positive_scale
from exporter.analyses.gap_shift import loss_landscape, shift
from exporter.analyses.metrics import RECALL_KS, _infonce, centroid_distance, gap_metrics
from exporter.analyses.retrieval import recall_at_k
from exporter.analyses.similarity import stacked_similarity
from exporter.errors import ExportError


def modality_pairs(modalities: Sequence[str]) -> list[tuple[int, int]]:
    """Every unordered pair of modality indices, (0, 1) first."""
    k = len(modalities)
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


def pair_name(modalities: Sequence[str], a: int, b: int) -> str:
    return f"{modalities[a]}-{modalities[b]}"


def _check_blocks(blocks: Sequence[np.ndarray]) -> list[np.ndarray]:
    if len(blocks) < 2:
        raise ExportError(f"need at least two modalities to measure a gap, got {len(blocks)}")
    rows = [normalise_rows(np.asarray(b, dtype=np.float64), "embeddings") for b in blocks]
    shapes = {r.shape for r in rows}
    if len(shapes) != 1:
        raise ExportError(
            f"modalities must have the same number of pairs and dimension, got shapes {sorted(shapes)}"
        )
    return rows


def centroid_offsets(blocks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """c_m - mean over m of c_m, for each modality m."""
    centroids = [b.mean(axis=0) for b in blocks]
    centre = np.mean(centroids, axis=0)
    return [c - centre for c in centroids]


def close_all(blocks: Sequence[np.ndarray], fraction: float = 1.0) -> list[np.ndarray]:
    """Move every modality toward the common centre by `fraction` of its offset; renormalise."""
    rows = _check_blocks(blocks)
    f = finite_number(fraction, "fraction")
    return [shift(b, -f * offset) for b, offset in zip(rows, centroid_offsets(rows), strict=True)]


def _pair_core(x: np.ndarray, y: np.ndarray, scale: float) -> dict:
    loss_ab, loss_ba = _infonce(x, y, scale)
    recall = recall_at_k(x, y, RECALL_KS)
    return {
        "centroid_distance": centroid_distance(x, y),
        "loss_i2t": loss_ab,
        "loss_t2i": loss_ba,
        "recall_i2t": recall["i2t"],
        "recall_t2i": recall["t2i"],
    }


def pairwise_metrics(
    blocks: Sequence[np.ndarray],
    modalities: Sequence[str],
    *,
    logit_scale: float,
    logit_bias: float | None = None,
    seed: int,
) -> dict[str, dict]:
    """gap_metrics of every modality pair, keyed "<a>-<b>"."""
    rows = _check_blocks(blocks)
    return {
        pair_name(modalities, a, b): gap_metrics(
            rows[a], rows[b], logit_scale=logit_scale, logit_bias=logit_bias, seed=seed
        )
        for a, b in modality_pairs(modalities)
    }


def gap_steps(
    blocks: Sequence[np.ndarray],
    modalities: Sequence[str],
    fractions: Sequence[float],
    *,
    logit_scale: float,
    logit_bias: float | None = None,
) -> list[dict]:
    """Slider steps of close_all: per step the shifted blocks, their stacked matrix and
    centroid distance, losses and recall of every pair (keyed "<a>-<b>")."""
    rows = _check_blocks(blocks)
    scale = positive_scale(logit_scale)
    optional_bias(logit_bias)
    steps = []
    for fraction in fractions:
        moved = close_all(rows, fraction)
        steps.append(
            {
                "fraction": finite_number(fraction, "fraction"),
                "blocks": moved,
                "similarity": stacked_similarity(moved),
                "pairs": {
                    pair_name(modalities, a, b): _pair_core(moved[a], moved[b], scale)
                    for a, b in modality_pairs(modalities)
                },
            }
        )
    return steps


def pair_landscapes(
    blocks: Sequence[np.ndarray],
    modalities: Sequence[str],
    *,
    logit_scale: float,
    logit_bias: float | None = None,
    deltas: np.ndarray,
) -> list[dict]:
    """Amumo's loss landscape of every pair (the pair slides along its own gap vector)."""
    rows = _check_blocks(blocks)
    out = []
    for a, b in modality_pairs(modalities):
        landscape = loss_landscape(
            rows[a], rows[b], logit_scale=logit_scale, logit_bias=logit_bias, deltas=deltas
        )
        out.append(
            {
                "modalities": [modalities[a], modalities[b]],
                "gap_vector_norm": centroid_distance(rows[a], rows[b]),
                "landscape": landscape,
            }
        )
    return out


def cross_modal_similarity(matrix: np.ndarray, n: int, k: int) -> np.ndarray:
    """N x N similarity of pairs that every cross-modal block has a say in.

    For two modalities it is the image-text block itself; for k, the mean of
    all blocks (a, b), a < b, so clusters group pairs alike in every modality.
    """
    if k == 2:
        return matrix[:n, n : 2 * n]
    blocks = [matrix[a * n : (a + 1) * n, b * n : (b + 1) * n] for a in range(k) for b in range(a + 1, k)]
    return np.mean(blocks, axis=0)
