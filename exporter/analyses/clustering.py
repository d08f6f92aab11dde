"""Heatmap order: hierarchical clustering of cross-modal similarities, labelled by captions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform
from sklearn.feature_extraction.text import CountVectorizer

from exporter.analyses._checks import as_matrix
from exporter.errors import ExportError

# Optimal leaf ordering is O(N^3)-ish; above this size the plain dendrogram order is used.
_OPTIMAL_ORDERING_MAX = 300
LABEL_TERMS = 2
# A second label term must score at least this share of the best term's score.
_RELATIVE_FLOOR = 0.5
# A phrase replaces a chosen word it contains when it keeps this share of the word's score.
_EXTEND_SHARE = 0.75


def _distance_matrix(cross_similarity: np.ndarray) -> np.ndarray:
    """1 - S, symmetrised (S_ij and S_ji are the image i/text j and image j/text i scores)."""
    similarity = (cross_similarity + cross_similarity.T) / 2.0
    distance = np.clip(1.0 - similarity, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    return distance


def _term_matrix(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Binary document-term matrix of words and bigrams (English stop words removed)."""
    vectorizer = CountVectorizer(ngram_range=(1, 2), stop_words="english", binary=True, lowercase=True)
    try:
        counts = vectorizer.fit_transform(list(texts))
    except ValueError:
        # Every caption was empty or stop words only: nothing to label with.
        return None
    return counts.toarray().astype(np.float64), vectorizer.get_feature_names_out()


def _label(members: np.ndarray, terms: tuple[np.ndarray, np.ndarray] | None, fallback: str) -> str:
    """The cluster's most distinctive terms.

    Score of a term = (share of the cluster's captions containing it) minus
    (share of the other captions containing it): high for words that most
    members use and few outsiders do. Ties prefer bigrams, then alphabetical
    order. Terms sharing a word with a chosen term are skipped ("red circle"
    makes "red" redundant), except that a bigram nearly as distinctive as a
    chosen word replaces it ("blue" -> "blue square"); terms scoring under half
    the best score are dropped. At most two terms, joined by ", ". With no outsiders the most common terms are used.
    """
    if terms is None:
        return fallback
    matrix, names = terms
    inside = np.zeros(matrix.shape[0], dtype=bool)
    inside[members] = True
    share_in = matrix[inside].mean(axis=0)
    share_out = matrix[~inside].mean(axis=0) if np.any(~inside) else np.zeros_like(share_in)
    score = share_in - share_out
    lengths = np.array([len(name.split()) for name in names])
    # lexsort: last key is primary -> score desc, then longer n-gram, then name.
    order = np.lexsort((names, -lengths, -score))
    best = float(score[order[0]]) if order.size else 0.0
    chosen: list[tuple[str, float]] = []
    for index in order:
        value = float(score[index])
        # Stop at non-distinctive terms and at terms much weaker than the best one.
        if value <= 0 or value < _RELATIVE_FLOOR * best:
            break
        name = str(names[index])
        words = set(name.split())
        overlapping = [k for k, (term, _) in enumerate(chosen) if words & set(term.split())]
        if not overlapping:
            if len(chosen) < LABEL_TERMS:
                chosen.append((name, value))
            continue
        # "blue" then "blue square" used by most of the same captions: the
        # phrase says more, so it replaces the word in place.
        if len(overlapping) == 1:
            k = overlapping[0]
            term, term_score = chosen[k]
            if len(term.split()) == 1 and len(words) > 1 and value >= _EXTEND_SHARE * term_score:
                chosen[k] = (name, value)
    return ", ".join(term for term, _ in chosen) if chosen else fallback


def cluster_order(
    cross_similarity: np.ndarray, texts: Sequence[str] | None, *, n_clusters: int = 10
) -> tuple[list[int], list[dict]]:
    """Order N pairs so that similar pairs sit together, and label the groups.

    cross_similarity: the N x N image-text block of the similarity matrix.
    Complete-linkage clustering of 1 - S (symmetrised), cut into at most
    ``n_clusters`` flat clusters (clamped to N). Returns ``order`` (a
    permutation of range(N): the dendrogram's leaf order, with each cluster
    contiguous) and ``clusters``: [{"start", "size", "label"}] over positions
    in ``order``, where label lists the captions' most distinctive words
    (see _label), or "cluster <i>" when there are no usable captions.
    """
    matrix = as_matrix(cross_similarity, "cross_similarity")
    n = matrix.shape[0]
    if matrix.shape[1] != n:
        raise ExportError(
            f"cross_similarity must be square (N x N image-text block), got shape {matrix.shape}"
        )
    if texts is not None:
        if isinstance(texts, str) or len(texts) != n:
            raise ExportError(f"texts must list one caption per pair ({n}), got {len(texts)}")
        if not all(isinstance(t, str) for t in texts):
            raise ExportError("texts must be strings (the captions of the pairs)")
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) or n_clusters < 1:
        raise ExportError(f"n_clusters must be a positive integer, got {n_clusters!r}")
    k = min(int(n_clusters), n)

    if n == 1:
        order = np.array([0])
        flat = np.array([1])
    else:
        tree = linkage(
            squareform(_distance_matrix(matrix), checks=False),
            method="complete",
            optimal_ordering=n <= _OPTIMAL_ORDERING_MAX,
        )
        order = leaves_list(tree)
        flat = fcluster(tree, t=k, criterion="maxclust")

    # Group by cluster in order of first appearance along the leaves; flat
    # clusters are subtrees, so this keeps the leaf order exactly.
    labels_in_order = flat[order]
    first_seen: dict[int, int] = {}
    for position, cluster in enumerate(labels_in_order):
        first_seen.setdefault(int(cluster), position)
    rank = np.array([first_seen[int(c)] for c in labels_in_order])
    grouped = order[np.argsort(rank, kind="stable")]

    terms = _term_matrix(texts) if texts is not None else None
    clusters = []
    start = 0
    for number, cluster in enumerate(sorted(first_seen, key=first_seen.get), start=1):
        members = np.flatnonzero(flat == cluster)
        clusters.append(
            {"start": start, "size": int(members.size), "label": _label(members, terms, f"cluster {number}")}
        )
        start += int(members.size)
    return [int(i) for i in grouped], clusters
