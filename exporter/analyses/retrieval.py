"""Cross-modal retrieval: top-k lists and recall@k."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from exporter.analyses._checks import embeddings, ks_tuple, paired
from exporter.errors import ExportError


def _rank_by_score(scores: np.ndarray) -> np.ndarray:
    """Column order per row, best first; ties keep the lower index first (stable sort)."""
    return np.argsort(-scores, axis=1, kind="stable")


def top_k(query: np.ndarray, gallery: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k gallery rows most cosine-similar to each query row.

    Returns ``(indices, scores)``, both Q x k' with k' = min(k, len(gallery)),
    best first; equal scores are ordered by gallery index so results are
    deterministic. Scores are cosine similarities (not scaled by temperature).
    """
    q = embeddings(query, "query")
    g = embeddings(gallery, "gallery")
    if q.shape[1] != g.shape[1]:
        raise ExportError(
            f"query and gallery must have the same dimension, got {q.shape[1]} and {g.shape[1]}"
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ExportError(f"k must be a positive integer, got {k!r}")
    k = min(int(k), g.shape[0])
    # Repeated gallery rows (a caption used twice) get bit-equal scores, however a matrix product
    # would round their columns, so the stable sort lists them in index order, as recall ranks them.
    distinct, which = np.unique(g, axis=0, return_inverse=True)
    scores = (q @ distinct.T)[:, which.ravel()]
    order = _rank_by_score(scores)[:, :k]
    return order.astype(np.int64), np.take_along_axis(scores, order, axis=1)


def near_tie_margin(dims: int, dtype) -> float:
    """How far a cell and its match, two dot products of D-dim unit rows in `dtype`, may both be off.

    A dot product of D terms whose absolute values sum to at most 1 is off by at most
    D * u (u = eps / 2, the unit roundoff); outside twice that (plus a hair for rows
    normalised in `dtype`) the computed order is the exact one.
    """
    eps = float(np.finfo(dtype).eps)
    return dims * eps + 4.0 * eps


def ranks_above_match(queries, gallery, query_rows, cells, matches) -> np.ndarray:
    """Whether gallery row `cells` ranks above gallery row `matches` for query row `query_rows`.

    Rank rule: higher cosine first, equal cosines in index order. The sign of
    q . (g_cell - g_match), taken in float64, decides: a repeated item (a caption
    used twice) gives exactly zero, so it ties wherever a matrix product put its
    cells, and the lower index wins.
    """
    difference = gallery[cells].astype(np.float64) - gallery[matches].astype(np.float64)
    lead = np.einsum("ij,ij->i", queries[query_rows].astype(np.float64), difference)
    return (lead > 0) | ((lead == 0) & (cells < matches))


def _match_ranks(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Rank (0 = best) of the matched item i for query i, with the tie rule of ranks_above_match."""
    scores = queries @ gallery.T
    own = np.diag(scores)[:, None]
    margin = near_tie_margin(queries.shape[1], scores.dtype)
    ranks = np.sum(scores > own + margin, axis=1)
    rows, cols = np.nonzero(np.abs(scores - own) <= margin)
    keep = rows != cols  # not the match itself
    rows, cols = rows[keep], cols[keep]
    above = ranks_above_match(queries, gallery, rows, cols, rows)
    return ranks + np.bincount(rows[above], minlength=len(ranks))


def _recall(ranks: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    return {f"r{k}": float(np.mean(ranks < k)) for k in ks}


def recall_at_k(
    image: np.ndarray, text: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, dict[str, float]]:
    """Recall@k of matched pairs in both directions.

    ``i2t``: for each image, is its own caption among the k most similar texts?
    ``t2i`` the same from each text. Keys are ``"r1"``, ``"r5"``, ... A k at
    least N gives 1.0.
    """
    img, txt = paired(image, text)
    cuts = ks_tuple(ks)
    return {
        "i2t": _recall(_match_ranks(img, txt), cuts),
        "t2i": _recall(_match_ranks(txt, img), cuts),
    }
