"""Gap measures and contrastive losses of one model on N matched pairs.

Names of the returned metrics match the manifest keys in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from exporter.analyses._checks import optional_bias, paired, positive_scale, seed_int
from exporter.analyses.retrieval import recall_at_k
from exporter.errors import ExportError
from exporter.seeds import DEFAULT_SEED

RECALL_KS = (1, 5, 10)


def _cross_entropy_rows(logits: np.ndarray) -> float:
    """Mean over rows of -log softmax(row)[i] for the matched column i (stable)."""
    return float(np.mean(logsumexp(logits, axis=1) - np.diag(logits)))


def _infonce(img: np.ndarray, txt: np.ndarray, scale: float) -> tuple[float, float]:
    logits = scale * (img @ txt.T)
    return _cross_entropy_rows(logits), _cross_entropy_rows(logits.T)


def _sigmoid_loss(img: np.ndarray, txt: np.ndarray, scale: float, bias: float) -> float:
    """SigLIP loss (Zhai et al. 2023): -1/N sum_ij log sigmoid(z_ij (s <x_i, y_j> + b)).

    z_ij = +1 for matched pairs and -1 otherwise; normalised by the batch size
    N as in the paper (so it is a sum over N pairs per image, averaged over images).
    """
    logits = scale * (img @ txt.T) + bias
    signs = 2.0 * np.eye(img.shape[0]) - 1.0
    # -log sigmoid(x) = log(1 + exp(-x)), computed without overflow.
    return float(np.sum(np.logaddexp(0.0, -signs * logits)) / img.shape[0])


def contrastive_loss(
    image: np.ndarray, text: np.ndarray, *, logit_scale: float, logit_bias: float | None = None
) -> tuple[float, float]:
    """InfoNCE loss in each direction at the model's own logit scale, full batch.

    ``loss_i2t`` is the cross-entropy of picking the matched caption among all N
    texts for each image (softmax over a row of ``logit_scale * I T^T``);
    ``loss_t2i`` the same over columns. Amumo used the image->text logits for
    both directions; these are computed separately.

    ``logit_bias`` (SigLIP) is accepted and validated but does not change the
    value: a constant added to every logit cancels inside the softmax. Reporting
    the same InfoNCE quantity for SigLIP keeps models comparable; its own
    sigmoid loss is ``sigmoid_loss`` (``loss_sigmoid`` in gap_metrics).
    """
    img, txt = paired(image, text)
    optional_bias(logit_bias)
    return _infonce(img, txt, positive_scale(logit_scale))


def sigmoid_loss(image: np.ndarray, text: np.ndarray, *, logit_scale: float, logit_bias: float) -> float:
    """SigLIP's pairwise sigmoid loss at the model's scale and bias (see _sigmoid_loss)."""
    img, txt = paired(image, text)
    bias = optional_bias(logit_bias)
    if bias is None:
        raise ExportError("sigmoid_loss needs the model's logit_bias (SigLIP); got None")
    return _sigmoid_loss(img, txt, positive_scale(logit_scale), bias)


def centroid_distance(img: np.ndarray, txt: np.ndarray) -> float:
    """||mean(image) - mean(text)|| of unit rows (Liang et al. 2022)."""
    return float(np.linalg.norm(img.mean(axis=0) - txt.mean(axis=0)))


def _mean_off_diagonal(matrix: np.ndarray) -> float:
    n = matrix.shape[0]
    return float((matrix.sum() - np.trace(matrix)) / (n * (n - 1)))


def relative_gap(img: np.ndarray, txt: np.ndarray) -> float:
    """Relative modality gap after Schrodi et al. (2025), with cosine dissimilarity.

    With d(a, b) = 1 - cos(a, b),
        m = (1/N) sum_i d(x_i, y_i)                               (matched pairs)
        w = 1/(2N(N-1)) sum_{i != j} [d(x_i, x_j) + d(y_i, y_j)]   (within each modality)
        relative_gap = m / (w + m).
    The paper writes d as (1 - cos) / 2; that factor cancels in the ratio.
    It lies in [0, 1]: 0 when every pair coincides, near 1 when pairs are far
    apart compared with how spread out each modality is: the same matched
    distance counts for more when each modality is tightly bunched.
    """
    matched = float(np.mean(1.0 - np.sum(img * txt, axis=1)))
    within = (_mean_off_diagonal(1.0 - img @ img.T) + _mean_off_diagonal(1.0 - txt @ txt.T)) / 2.0
    total = within + matched
    return float(matched / total) if total > 0 else 0.0


def separability(img: np.ndarray, txt: np.ndarray, *, seed: int = DEFAULT_SEED) -> float:
    """Cross-validated accuracy of a logistic regression telling image rows from text rows.

    Fahim et al. (2024) report 1.00 for CLIP: the modalities are linearly
    separable. Stratified K-fold with K = min(5, N) (each class has N rows), shuffled
    with ``seed``; lbfgs is deterministic, so the value is too.
    """
    n = img.shape[0]
    features = np.vstack([img, txt])
    labels = np.repeat([0, 1], n)
    folds = StratifiedKFold(n_splits=min(5, n), shuffle=True, random_state=seed)
    classifier = LogisticRegression(C=1.0, max_iter=2000)
    with warnings.catch_warnings():
        # Perfectly separable data can stop lbfgs at max_iter; the accuracy is still meaningful.
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(classifier, features, labels, cv=folds, scoring="accuracy")
    return float(np.mean(scores))


@dataclass(frozen=True)
class Measure:
    """One gap measure: how it is computed and how the article presents it.

    The whole registry is written into the manifest (`registry.measures`); the
    metrics table and its headings, digits and tooltips come from there, so
    adding a measure touches no JavaScript (docs/ARCHITECTURE.md, recipes).
    """

    key: str  # column id; for a computed measure also its key in the manifest's metrics
    label: str  # column heading
    description: str  # one line: the heading's tooltip
    digits: int  # decimals shown
    closed: bool  # also measured on the gap-closed space (manifest metrics.closed)
    citation: str | None  # BibTeX key (article/references.bib) of its source
    compute: Callable[[Space], float] | None = None  # None: shown from `reads`, computed elsewhere
    reads: tuple[str, ...] = ()  # dotted metric paths the column shows (their mean); default (key,)

    def paths(self) -> list[str]:
        return list(self.reads or (self.key,))


@dataclass
class Space:
    """One (model, dataset) space handed to each measure; shared work is computed once."""

    img: np.ndarray
    txt: np.ndarray
    scale: float
    seed: int

    @cached_property
    def infonce(self) -> tuple[float, float]:
        return _infonce(self.img, self.txt, self.scale)


def _recall_columns(direction: str, arrow: str, what: str) -> list[Measure]:
    return [
        Measure(
            f"r{k}_{direction}",
            f"R@{k} {arrow}",
            f"{what} recall at {k}",
            2,
            closed=True,
            citation=None,
            reads=(f"recall_{direction}.r{k}",),
        )
        for k in RECALL_KS
    ]


MEASURES: tuple[Measure, ...] = (
    Measure(
        "centroid_distance",
        "gap",
        "distance between the modality centroids",
        3,
        closed=True,
        citation="liang2022mind",
        compute=lambda s: centroid_distance(s.img, s.txt),
    ),
    Measure(
        "pair_distance",
        "pair dist.",
        "mean distance of matched pairs",
        3,
        closed=False,
        citation="schrodi2025two",
        compute=lambda s: float(np.mean(np.linalg.norm(s.img - s.txt, axis=1))),
    ),
    Measure(
        "relative_gap",
        "relative gap",
        "matched-pair distance over within-modality distance",
        3,
        closed=False,
        citation="schrodi2025two",
        compute=lambda s: relative_gap(s.img, s.txt),
    ),
    Measure(
        "separability",
        "separability",
        "linear separability of image vs text",
        2,
        closed=False,
        citation="fahim2024not",
        compute=lambda s: separability(s.img, s.txt, seed=s.seed),
    ),
    Measure(
        "pair_cosine",
        "pair cos.",
        "mean cosine of matched pairs",
        3,
        closed=False,
        citation=None,
        compute=lambda s: float(np.mean(np.sum(s.img * s.txt, axis=1))),
    ),
    Measure(
        "cone_image",
        "cone (image)",
        "mean cosine between images",
        3,
        closed=False,
        citation="liang2022mind",
        compute=lambda s: _mean_off_diagonal(s.img @ s.img.T),
    ),
    Measure(
        "cone_text",
        "cone (text)",
        "mean cosine between texts",
        3,
        closed=False,
        citation="liang2022mind",
        compute=lambda s: _mean_off_diagonal(s.txt @ s.txt.T),
    ),
    Measure(
        "loss",
        "loss",
        "contrastive loss, mean of both directions",
        3,
        closed=True,
        citation="radford2021clip",
        reads=("loss_i2t", "loss_t2i"),
    ),
    Measure(
        "loss_i2t",
        "loss i→t",
        "image-to-text loss",
        3,
        closed=True,
        citation="radford2021clip",
        compute=lambda s: s.infonce[0],
    ),
    Measure(
        "loss_t2i",
        "loss t→i",
        "text-to-image loss",
        3,
        closed=True,
        citation="radford2021clip",
        compute=lambda s: s.infonce[1],
    ),
    *_recall_columns("i2t", "i→t", "image-to-text"),
    *_recall_columns("t2i", "t→i", "text-to-image"),
)

# The columns a metrics figure shows when it names none; "closed:<key>" is the gap-closed value.
DEFAULT_COLUMNS = (
    "centroid_distance",
    "relative_gap",
    "separability",
    "pair_cosine",
    "loss",
    "r1_i2t",
    "r1_t2i",
    "closed:centroid_distance",
    "closed:loss",
)


def measures_registry() -> dict:
    """The measures as the manifest carries them (`registry.measures` and `registry.default_columns`)."""
    return {
        "measures": [
            {
                "key": m.key,
                "label": m.label,
                "description": m.description,
                "digits": m.digits,
                "closed": m.closed,
                "citation": m.citation,
                "reads": m.paths(),
            }
            for m in MEASURES
        ],
        "default_columns": list(DEFAULT_COLUMNS),
    }


def measures_of(
    keys, image: np.ndarray, text: np.ndarray, *, logit_scale: float, seed: int = DEFAULT_SEED
) -> dict[str, float]:
    """The named computed measures of MEASURES on these embeddings (e.g. those the all-pairs
    statistics do not stream, taken on the figure sample instead)."""
    img, txt = paired(image, text, min_rows=2)
    space = Space(img, txt, positive_scale(logit_scale), seed_int(seed))
    by_key = {m.key: m for m in MEASURES if m.compute is not None}
    return {key: by_key[key].compute(space) for key in keys}


def gap_metrics(
    image: np.ndarray,
    text: np.ndarray,
    *,
    logit_scale: float,
    logit_bias: float | None = None,
    seed: int = DEFAULT_SEED,
) -> dict:
    """Every gap measure of one (model, dataset), keyed as in the manifest.

    image, text: N x D embeddings of N matched pairs (N >= 2; rows are
    L2-normalised defensively). Returns floats: every measure of MEASURES that
    has a `compute` (centroid_distance, pair_distance, relative_gap,
    separability (uses ``seed``), pair_cosine, cone_image, cone_text, loss_i2t,
    loss_t2i), and:

    - recall_i2t, recall_t2i: {"r1", "r5", "r10"}
    - loss_sigmoid: only when ``logit_bias`` is given (SigLIP's own loss)
    """
    img, txt = paired(image, text, min_rows=2)
    scale = positive_scale(logit_scale)
    bias = optional_bias(logit_bias)
    space = Space(img, txt, scale, seed_int(seed))
    result = {m.key: m.compute(space) for m in MEASURES if m.compute is not None}
    recall = recall_at_k(img, txt, RECALL_KS)
    result["recall_i2t"] = recall["i2t"]
    result["recall_t2i"] = recall["t2i"]
    if bias is not None:
        result["loss_sigmoid"] = _sigmoid_loss(img, txt, scale, bias)
    return result
