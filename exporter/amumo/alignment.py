"""Do a model's rows belong to the folder's items? Evidence that needs no knowledge of the folder.

A model that embeds captions puts similar captions close together. So the
correlation between its text–text similarities and a model-free similarity of
the captions (character n-gram TF-IDF) is clearly positive when row i is item
i, and about zero when the rows are shuffled. It is measured as a z-score
against the same correlation under random row permutations, so the bar does
not depend on the dataset.

A model that fails is realigned only when the permutation of the published
seed (Amumo drew its subsets with numpy.random.seed(seed); rand(N).argsort())
turns a failing score into a passing one; otherwise it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

ALIGNED_Z = 5.0  # at least this many null standard deviations above chance: aligned
MISALIGNED_Z = 3.0  # below this: no evidence of alignment
NULL_PERMUTATIONS = 200
PUBLISHED_SEED = 31415


@dataclass(frozen=True)
class Alignment:
    status: str  # "aligned" | "realigned" | "refused" | "untestable"
    z_published: float | None  # evidence as published
    z_final: float | None  # evidence after realignment (same as published when not realigned)
    correlation: float | None  # correlation of the kept order with the caption similarity
    permutation: str | None  # which candidate was applied, e.g. "argsort(rand(N).argsort()), seed 31415"
    order: np.ndarray | None  # row k of the aligned matrix is published row order[k]

    def summary(self) -> str:
        if self.status == "untestable":
            return "untestable (captions carry no model-free similarity)"
        if self.status == "realigned":
            return f"realigned by {self.permutation}: z {self.z_published:.1f} -> {self.z_final:.1f}"
        return f"{self.status}: z {self.z_published:.1f}"


def caption_similarity(texts: list[str]) -> np.ndarray | None:
    """Cosine similarity of character 3-5-gram TF-IDF vectors; None when it cannot discriminate."""
    if len(set(texts)) < 3:
        return None
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(texts)
    similarity = (vectors @ vectors.T).toarray()
    if np.std(_upper(similarity)) == 0:
        return None
    return similarity


def _upper(matrix: np.ndarray) -> np.ndarray:
    rows, cols = np.triu_indices(matrix.shape[0], 1)
    return matrix[rows, cols]


def evidence(block: np.ndarray, reference: np.ndarray, *, seed: int = PUBLISHED_SEED) -> tuple[float, float]:
    """(correlation, z-score against row-permuted copies of the block)."""
    target = _upper(reference)
    observed = float(np.corrcoef(_upper(block), target)[0, 1])
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(NULL_PERMUTATIONS):
        p = rng.permutation(block.shape[0])
        null.append(np.corrcoef(_upper(block[p][:, p]), target)[0, 1])
    spread = float(np.std(null)) or 1e-12
    return observed, (observed - float(np.mean(null))) / spread


def seed_candidates(n: int, seed: int = PUBLISHED_SEED) -> dict[str, np.ndarray]:
    """Row orders that undo a subset drawn with numpy.random.seed(seed); rand(n).argsort()."""
    state = np.random.RandomState(seed)
    pi = state.rand(n).argsort()
    return {
        f"argsort(π), π = rand({n}).argsort() at seed {seed}": np.argsort(pi),
        f"π = rand({n}).argsort() at seed {seed}": pi,
    }


def stacked_order(order: np.ndarray, k: int) -> np.ndarray:
    """Indices that apply a pair order to every modality block of a kN x kN matrix."""
    n = len(order)
    return np.concatenate([order + m * n for m in range(k)])


def realign(matrix: np.ndarray, order: np.ndarray, k: int) -> np.ndarray:
    q = stacked_order(order, k)
    return matrix[q][:, q]


def check_alignment(text_block: np.ndarray, reference: np.ndarray | None) -> Alignment:
    """Decide from the model's text–text block and the model-free caption similarity."""
    if reference is None:
        return Alignment("untestable", None, None, None, None, None)
    correlation, z = evidence(text_block, reference)
    if z >= ALIGNED_Z:
        return Alignment("aligned", z, z, correlation, None, np.arange(text_block.shape[0]))
    best = None
    for label, order in seed_candidates(text_block.shape[0]).items():
        moved = text_block[order][:, order]
        c, z_moved = evidence(moved, reference)
        if best is None or z_moved > best[1]:
            best = (c, z_moved, label, order)
    assert best is not None
    if z < MISALIGNED_Z and best[1] >= ALIGNED_Z:
        return Alignment("realigned", z, best[1], best[0], best[2], best[3])
    return Alignment("refused", z, best[1], correlation, None, None)


def cross_model_agreement(blocks: dict[str, np.ndarray]) -> dict[str, float]:
    """Per model: median correlation of its text–text similarities with every other model's."""
    names = list(blocks)
    uppers = {name: _upper(block) for name, block in blocks.items()}
    result = {}
    for name in names:
        others = [float(np.corrcoef(uppers[name], uppers[o])[0, 1]) for o in names if o != name]
        result[name] = float(np.median(others)) if others else float("nan")
    return result
