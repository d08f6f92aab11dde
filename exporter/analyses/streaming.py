"""Statistics over every pair, block by block: never an N x N matrix in memory.

The dense analyses (metrics, retrieval) hold N x N similarities, which stops
working at tens of thousands of pairs. Here one pass walks blocks of image
rows against all texts and keeps, per query, only what the statistics need:
its InfoNCE loss and the rank of its match, in both directions. Measures
that are averages of cosines (centroid distance, cones, relative gap) follow
exactly from row sums, so they cost O(N D).

Per-query values make bootstrap confidence intervals cheap: resampling pairs
with replacement reweights those values; the gallery every query ranks
against stays the whole dataset (the interval shows which pairs were
measured, not how loss and recall change with the gallery's size).

Blocks are combined in block order, so the result does not depend on how
many threads computed them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from exporter.analyses._checks import (
    finite_number,
    ks_tuple,
    optional_bias,
    positive_scale,
    seed_int,
)
from exporter.analyses.retrieval import near_tie_margin, ranks_above_match
from exporter.errors import ExportError
from exporter.seeds import DEFAULT_SEED

RECALL_KS = (1, 5, 10)
# Cells of one block (rows x N): float32 scores plus temporaries stay near 64 MB.
BLOCK_CELLS = 1 << 24
DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95


# (image, text, own, [(start, stop), ...], scale, bias) -> one_block() results, in span order.
BlockMap = Callable[..., Iterable[dict]]


@dataclass
class PerQuery:
    """What one pass keeps per pair: everything the statistics and their intervals need."""

    loss_i2t: np.ndarray  # (N,) float64: -log softmax of the match in image i's row
    loss_t2i: np.ndarray  # (N,) float64: the same over text j's column
    rank_i2t: np.ndarray  # (N,) int64: 0 = the match is the best text for image i
    rank_t2i: np.ndarray  # (N,) int64
    sigmoid: np.ndarray | None  # (N,) SigLIP loss per image row, when a bias is given


def unit_rows(values: np.ndarray, name: str) -> np.ndarray:
    """Finite, L2-normalised float32 rows (float32 halves memory; sums are taken in float64)."""
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] < 2 or array.shape[1] < 1:
        raise ExportError(f"{name} must be an N x D array with N >= 2, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ExportError(f"{name} contains NaN or infinite values; check the embeddings")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if np.any(norms < 1e-12):
        raise ExportError(f"{name} has an all-zero row, which has no direction; check the embeddings")
    return array / norms


def _block_rows(n: int) -> int:
    return int(max(16, min(n, BLOCK_CELLS // max(n, 1))))


# Below exp(-RISK_MARGIN) relative to a row's largest logit, float32 exp() may underflow on
# the way to a column sum (it does below about exp(-87)); columns that far below get their own pass.
RISK_MARGIN = 60.0


def _log_sum_exps(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row log-sum-exp, and each column's (peak, log sum exp(x - peak)), from one exp() per cell.

    The cells are shifted by their row's maximum and exponentiated once; rows
    are summed directly, columns by weighting each row with exp(row max -
    block max). A column whose maximum lies more than RISK_MARGIN below the
    block max could have lost terms to underflow, so it is recomputed on its own.
    """
    row_peak = logits.max(axis=1)
    col_peak = logits.max(axis=0)
    top = float(row_peak.max())
    shifted = logits - row_peak[:, None]
    np.exp(shifted, out=shifted)
    row_lse = row_peak.astype(np.float64) + np.log(shifted.sum(axis=1, dtype=np.float64))
    weights = np.exp(row_peak.astype(np.float64) - top)
    # w_i * e_ij = exp(x_ij - block max) >= exp(-RISK_MARGIN) for the cells that matter: no underflow.
    col_sum = (weights.astype(np.float32) @ shifted).astype(np.float64)
    risky = np.flatnonzero(col_peak < top - RISK_MARGIN)
    col_sum[risky] = 1.0  # replaced below; keeps log() quiet where the sum underflowed
    col_log = np.log(col_sum) + top - col_peak.astype(np.float64)
    if risky.size:
        cells = logits[:, risky] - col_peak[risky][None, :]
        col_log[risky] = np.log(np.exp(cells).sum(axis=0, dtype=np.float64))
    return row_lse, col_peak.astype(np.float64), col_log


def _ranks_before(image, text, own, start, stop):
    """Per image row of the block and per text column: how many items rank above the match.

    Cells within float32 error of their match are settled exactly by
    retrieval.ranks_above_match (the dense path's rule), so a repeated caption
    ties wherever a matrix product computed its cells.
    """
    scores = image[start:stop] @ text.T  # (b, N) float32 cosines
    b, n = scores.shape
    rows = np.arange(b)
    margin = np.float32(near_tie_margin(image.shape[1], np.float32))
    # Two comparisons per direction, as many as exact counting needs; near cells are rare.
    own_rows = own[start:stop, None]
    better_row = np.count_nonzero(scores > own_rows + margin, axis=1)
    near_rows = np.flatnonzero(np.count_nonzero(scores >= own_rows - margin, axis=1) - better_row > 1)
    if near_rows.size:  # more than the match itself lies near the match
        part = scores[near_rows]
        sub_r, near_c = np.nonzero(np.abs(part - own_rows[near_rows]) <= margin)
        near_r = near_rows[sub_r]
        keep = near_c != near_r + start  # not the match itself
        near_r, near_c = near_r[keep], near_c[keep]
        above = ranks_above_match(image, text, near_r + start, near_c, near_r + start)
        better_row += np.bincount(near_r[above], minlength=b)
    own_cols = own[None, :]
    better_col = np.count_nonzero(scores > own_cols + margin, axis=0)
    near_count = np.count_nonzero(scores >= own_cols - margin, axis=0) - better_col
    block_cols = rows + start
    near_count[block_cols] -= 1  # the match itself, for the texts of this block
    near_cols = np.flatnonzero(near_count > 0)
    if near_cols.size:
        part = scores[:, near_cols]
        near_r, sub_c = np.nonzero(np.abs(part - own_cols[:, near_cols]) <= margin)
        near_c = near_cols[sub_c]
        keep = near_r + start != near_c
        near_r, near_c = near_r[keep], near_c[keep]
        above = ranks_above_match(text, image, near_c, near_r + start, near_c)
        better_col += np.bincount(near_c[above], minlength=n)
    return scores, rows, better_row, better_col


def one_block(image, text, own, start, stop, scale, bias):
    """Row statistics of images start..stop and their part of every text's column statistics."""
    scores, rows, better_row, better_col = _ranks_before(image, text, own, start, stop)
    diagonal = scores[rows, rows + start].copy()
    logits = scores * np.float32(scale)
    sigmoid = None
    if bias is not None:
        # SigLIP: -log sigmoid(+x) for the match, -log sigmoid(-x) for every other pair.
        shifted = logits + np.float32(bias)
        matched = shifted[rows, rows + start].astype(np.float64)
        sigmoid = np.logaddexp(0.0, shifted).sum(axis=1, dtype=np.float64)
        sigmoid += np.logaddexp(0.0, -matched) - np.logaddexp(0.0, matched)
    row_lse, col_peak, col_log = _log_sum_exps(logits)
    return {
        "row_lse": row_lse,
        "row_match": diagonal.astype(np.float64) * scale,
        "better_row": better_row,
        "col_peak": col_peak,
        "col_log": col_log,
        "better_col": better_col,
        "sigmoid": sigmoid,
    }


def _matched_scores(img: np.ndarray, txt: np.ndarray, step: int) -> np.ndarray:
    """Each match's float32 score, from a matrix product like the pass's (the losses use it).

    Ranks only screen against it: cells within float32 error of it are settled in float64.
    """
    own = np.empty(img.shape[0], dtype=np.float32)
    for start in range(0, img.shape[0], step):
        stop = min(start + step, img.shape[0])
        own[start:stop] = np.diagonal(img[start:stop] @ txt[start:stop].T)
    return own


def per_query(
    image: np.ndarray,
    text: np.ndarray,
    *,
    logit_scale: float,
    logit_bias: float | None = None,
    workers: int | None = None,
    block_map: BlockMap | None = None,
) -> PerQuery:
    """One blockwise pass over all image-text scores: losses and match ranks per query.

    Blocks run on a thread pool of `workers`, or on `block_map` (e.g. a Ray
    cluster: exporter.distributed.ray_block_map), which must yield
    one_block's results in the order of the spans.
    """
    img = unit_rows(image, "image")
    txt = unit_rows(text, "text")
    if img.shape != txt.shape:
        raise ExportError(f"image and text must be paired N x D arrays, got {img.shape} and {txt.shape}")
    scale = positive_scale(logit_scale)
    bias = optional_bias(logit_bias)
    n = img.shape[0]
    step = _block_rows(n)
    own = _matched_scores(img, txt, step)
    starts = list(range(0, n, step))
    loss_i2t = np.empty(n)
    rank_i2t = np.empty(n, dtype=np.int64)
    sigmoid = np.empty(n) if bias is not None else None
    col_peak = np.full(n, -np.inf)
    col_sum = np.zeros(n)
    better_col = np.zeros(n, dtype=np.int64)
    spans = [(start, min(start + step, n)) for start in starts]
    threads = max(1, workers or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        if block_map is None:
            parts = pool.map(lambda span: one_block(img, txt, own, *span, scale, bias), spans)
        else:
            parts = block_map(img, txt, own, spans, scale, bias)
        for start, part in zip(starts, parts, strict=True):  # block order: deterministic sums
            stop = start + len(part["row_lse"])
            loss_i2t[start:stop] = part["row_lse"] - part["row_match"]
            rank_i2t[start:stop] = part["better_row"]
            if sigmoid is not None:
                sigmoid[start:stop] = part["sigmoid"]
            peak = np.maximum(col_peak, part["col_peak"])
            col_sum = col_sum * np.exp(col_peak - peak) + np.exp(part["col_log"] + part["col_peak"] - peak)
            col_peak = peak
            better_col += part["better_col"]
    rank_t2i = better_col
    loss_t2i = col_peak + np.log(col_sum) - own.astype(np.float64) * scale
    return PerQuery(loss_i2t, loss_t2i, rank_i2t, rank_t2i, sigmoid)


# ---------------------------------------------------------------- the statistics


def _cone(rows: np.ndarray) -> tuple[np.ndarray, float]:
    """Row sum (float64) and sum of squared norms: the mean off-diagonal cosine follows from them."""
    return rows.sum(axis=0, dtype=np.float64), float(np.einsum("ij,ij->", rows, rows, dtype=np.float64))


def _mean_off_diagonal(total: np.ndarray, squares: float, n: float) -> float:
    return float((total @ total - squares) / (n * (n - 1)))


def point_statistics(image: np.ndarray, text: np.ndarray, queries: PerQuery, ks=RECALL_KS) -> dict:
    """Every measure of the dataset from its rows and the per-query pass (names as in the manifest)."""
    img = unit_rows(image, "image")
    txt = unit_rows(text, "text")
    n = img.shape[0]
    cos = np.einsum("ij,ij->i", img, txt, dtype=np.float64)
    image_sum, image_squares = _cone(img)
    text_sum, text_squares = _cone(txt)
    cone_image = _mean_off_diagonal(image_sum, image_squares, n)
    cone_text = _mean_off_diagonal(text_sum, text_squares, n)
    matched = float(np.mean(1.0 - cos))
    within = ((1.0 - cone_image) + (1.0 - cone_text)) / 2.0
    result = {
        "centroid_distance": float(np.linalg.norm((image_sum - text_sum) / n)),
        "pair_distance": float(np.mean(np.sqrt(np.maximum(2.0 - 2.0 * cos, 0.0)))),
        "relative_gap": matched / (within + matched) if within + matched > 0 else 0.0,
        "pair_cosine": float(np.mean(cos)),
        "cone_image": cone_image,
        "cone_text": cone_text,
        "loss_i2t": float(np.mean(queries.loss_i2t)),
        "loss_t2i": float(np.mean(queries.loss_t2i)),
        "recall_i2t": {f"r{k}": float(np.mean(queries.rank_i2t < k)) for k in ks},
        "recall_t2i": {f"r{k}": float(np.mean(queries.rank_t2i < k)) for k in ks},
    }
    if queries.sigmoid is not None:
        result["loss_sigmoid"] = float(np.mean(queries.sigmoid))
    return result


def bootstrap_intervals(
    image: np.ndarray,
    text: np.ndarray,
    queries: PerQuery,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
    ks=RECALL_KS,
) -> dict:
    """Percentile bootstrap intervals [low, high] of every point statistic.

    Each resample draws N pairs with replacement (seeded); a statistic is
    recomputed from the per-pair values weighted by how often each pair was
    drawn. Intervals therefore have the same keys as point_statistics.
    """
    img = unit_rows(image, "image")
    txt = unit_rows(text, "text")
    n = img.shape[0]
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 10:
        raise ExportError(f"bootstrap resamples must be an integer of at least 10, got {resamples!r}")
    level = finite_number(confidence, "confidence")
    if not 0.0 < level < 1.0:
        raise ExportError(f"confidence must lie strictly between 0 and 1, e.g. 0.95, got {confidence!r}")
    rng = np.random.default_rng(seed_int(seed))
    cos = np.einsum("ij,ij->i", img, txt, dtype=np.float64)
    per_pair = {
        "pair_distance": np.sqrt(np.maximum(2.0 - 2.0 * cos, 0.0)),
        "pair_cosine": cos,
        "loss_i2t": queries.loss_i2t,
        "loss_t2i": queries.loss_t2i,
    }
    if queries.sigmoid is not None:
        per_pair["loss_sigmoid"] = queries.sigmoid
    cuts = ks_tuple(ks)
    for k in cuts:
        per_pair[f"recall_i2t.r{k}"] = (queries.rank_i2t < k).astype(np.float64)
        per_pair[f"recall_t2i.r{k}"] = (queries.rank_t2i < k).astype(np.float64)
    image_sq = np.einsum("ij,ij->i", img, img, dtype=np.float64)
    text_sq = np.einsum("ij,ij->i", txt, txt, dtype=np.float64)
    draws: dict[str, list[np.ndarray]] = {key: [] for key in per_pair}
    for key in ("centroid_distance", "cone_image", "cone_text", "relative_gap"):
        draws[key] = []
    chunk = max(1, min(resamples, BLOCK_CELLS // (4 * n)))
    for first in range(0, resamples, chunk):
        size = min(chunk, resamples - first)
        picks = rng.integers(0, n, size=(size, n))
        counts = np.stack([np.bincount(row, minlength=n) for row in picks]).astype(np.float32)
        for key, values in per_pair.items():
            draws[key].append(counts.astype(np.float64) @ values / n)
        image_sum = (counts @ img).astype(np.float64)
        text_sum = (counts @ txt).astype(np.float64)
        square_weights = counts.astype(np.float64) ** 2
        # Drawn twice = the same pair twice: off-diagonal means exclude only true self-pairs.
        self_image = square_weights @ image_sq
        self_text = square_weights @ text_sq
        # A resample of one pair drawn N times has no off-diagonal cosines (tiny N only): left out.
        denominator = n * n - square_weights.sum(axis=1)
        denominator[denominator == 0] = np.nan
        cone_image = (np.einsum("ij,ij->i", image_sum, image_sum) - self_image) / denominator
        cone_text = (np.einsum("ij,ij->i", text_sum, text_sum) - self_text) / denominator
        matched = 1.0 - draws["pair_cosine"][-1]
        within = ((1.0 - cone_image) + (1.0 - cone_text)) / 2.0
        draws["centroid_distance"].append(np.linalg.norm(image_sum - text_sum, axis=1) / n)
        draws["cone_image"].append(cone_image)
        draws["cone_text"].append(cone_text)
        draws["relative_gap"].append(matched / (within + matched))
    tail = (1.0 - level) / 2.0 * 100.0
    intervals: dict = {}
    for key, parts in draws.items():
        drawn = np.concatenate(parts)
        drawn = drawn[np.isfinite(drawn)]
        low, high = np.percentile(drawn, [tail, 100.0 - tail])
        interval = [float(low), float(high)]
        if "." in key:
            group, cut = key.split(".")
            intervals.setdefault(group, {})[cut] = interval
        else:
            intervals[key] = interval
    return intervals


def dataset_statistics(
    image: np.ndarray,
    text: np.ndarray,
    *,
    logit_scale: float,
    logit_bias: float | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
    workers: int | None = None,
    block_map: BlockMap | None = None,
) -> tuple[dict, dict]:
    """(point values, bootstrap intervals) of every blockwise measure over all N pairs."""
    queries = per_query(
        image, text, logit_scale=logit_scale, logit_bias=logit_bias, workers=workers, block_map=block_map
    )
    values = point_statistics(image, text, queries)
    intervals = bootstrap_intervals(
        image, text, queries, resamples=resamples, confidence=confidence, seed=seed
    )
    return values, intervals
