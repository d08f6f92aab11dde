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
    scores = q @ g.T
    order = _rank_by_score(scores)[:, :k]
    return order.astype(np.int64), np.take_along_axis(scores, order, axis=1)


def _match_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank (0 = best) of the matched item i in row i, with the same tie rule as top_k."""
    n = scores.shape[0]
    own = np.diag(scores)[:, None]
    better = np.sum(scores > own, axis=1)
    # Equal scores at a lower index are listed before the match (stable order).
    lower = np.tril(np.ones((n, n), dtype=bool), k=-1)
    tied_before = np.sum((scores == own) & lower, axis=1)
    return better + tied_before


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
    scores = img @ txt.T
    return {
        "i2t": _recall(_match_ranks(scores), cuts),
        "t2i": _recall(_match_ranks(scores.T), cuts),
    }
