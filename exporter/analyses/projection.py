"""2-D projections of stacked embeddings: PCA, UMAP (cosine), t-SNE (cosine).

All are seeded and deterministic: the same input and seed give identical
coordinates. Projections are fitted on all kN rows together, as Amumo does,
so the two modalities share one map.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from exporter.analyses._checks import as_matrix, seed_int
from exporter.errors import ExportError
from exporter.seeds import DEFAULT_SEED

METHODS = ("pca", "umap", "tsne")


@dataclass(frozen=True)
class ProjectionMethod:
    """A 2-D projection as the article presents it; the manifest carries these (`registry.projections`)."""

    key: str
    label: str  # menu entry
    axes: tuple[str, str]  # axis titles
    description: str  # one line: what the frame shows
    animated: bool  # every gap step is mapped into the one fitted frame (False: original only)
    note: str = ""  # shown with the figure when set (e.g. why it is not animated)


PROJECTION_METHODS: tuple[ProjectionMethod, ...] = (
    ProjectionMethod(
        "gap",
        "gap axis",
        ("along the gap vector (image centroid − text centroid)", "PC 1 of the rest"),
        "a linear frame whose x axis is the gap vector, so the gap is always visible",
        animated=True,
    ),
    ProjectionMethod("pca", "PCA", ("PC 1", "PC 2"), "the two directions of largest variance", animated=True),
    ProjectionMethod(
        "umap",
        "UMAP",
        ("UMAP 1", "UMAP 2"),
        "a neighbour-graph layout (cosine); gap steps are placed with the fitted map's transform",
        animated=True,
    ),
    ProjectionMethod(
        "tsne",
        "t-SNE",
        ("t-SNE 1", "t-SNE 2"),
        "a neighbour-preserving layout (cosine)",
        animated=False,
        note="t-SNE cannot place new points in a fitted layout, so it shows the original "
        "embeddings only; the gap slider does not move it.",
    ),
)


def projections_registry() -> list[dict]:
    """The projection methods as the manifest carries them (`registry.projections`)."""
    return [
        {
            "key": m.key,
            "label": m.label,
            "axes": list(m.axes),
            "description": m.description,
            "animated": m.animated,
            "note": m.note,
        }
        for m in PROJECTION_METHODS
    ]


# Below this many points the neighbour-graph methods have nothing to embed.
_MIN_POINTS_MANIFOLD = 4


def _check_method(method: object) -> str:
    if method not in METHODS:
        raise ExportError(f"unknown projection method {method!r}; valid methods: {', '.join(METHODS)}")
    return str(method)


def _fix_signs(components: np.ndarray) -> np.ndarray:
    """Flip each principal axis so its largest-magnitude loading is positive.

    SVD signs are arbitrary; pinning them keeps plots from mirroring between
    library versions or BLAS builds.
    """
    signs = np.sign(components[np.arange(components.shape[0]), np.argmax(np.abs(components), axis=1)])
    signs[signs == 0] = 1.0
    return signs


def _pad_two(points: np.ndarray) -> np.ndarray:
    """Fewer than 2 components (1-D data, 1 point): pad with zeros so callers always get kN x 2."""
    if points.shape[1] >= 2:
        return points[:, :2]
    return np.hstack([points, np.zeros((points.shape[0], 2 - points.shape[1]))])


class _SharedPCA:
    """PCA to 2 components with deterministic axis signs."""

    def __init__(self, seed: int):
        self.seed = seed

    def fit(self, data: np.ndarray) -> _SharedPCA:
        if data.shape[0] < 2 or not np.any(np.ptp(data, axis=0) > 0):
            # No spread (one point, or identical points): everything sits at the origin.
            self.pca = None
            return self
        n_components = min(2, data.shape[0], data.shape[1])
        self.pca = PCA(n_components=n_components, svd_solver="full", random_state=self.seed).fit(data)
        self.signs = _fix_signs(self.pca.components_)
        return self

    def transform(self, data: np.ndarray) -> np.ndarray:
        if self.pca is None:
            return np.zeros((data.shape[0], 2))
        return _pad_two(self.pca.transform(data) * self.signs)


def _pca(data: np.ndarray, seed: int) -> np.ndarray:
    return _SharedPCA(seed).fit(data).transform(data)


def _umap_model(n: int, seed: int):
    # Imported lazily: umap pulls in numba, which is slow to import.
    import umap

    return umap.UMAP(
        n_components=2,
        metric="cosine",
        # n_neighbors must stay below the number of points; 15 is UMAP's default.
        n_neighbors=max(2, min(15, n - 1)),
        min_dist=0.1,
        random_state=seed,
        # Spectral initialisation needs a connected, non-tiny graph.
        init="spectral" if n > 10 else "random",
        # Small inputs converge well within fewer epochs; keeps exports quick.
        n_epochs=500 if n <= 2000 else 200,
        transform_seed=seed,
    )


def _umap(data: np.ndarray, seed: int) -> np.ndarray:
    with warnings.catch_warnings():
        # random_state forces a single thread; umap warns about that on purpose.
        warnings.simplefilter("ignore", UserWarning)
        return np.asarray(_umap_model(data.shape[0], seed).fit_transform(data), dtype=np.float64)


def _tsne(data: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    n = data.shape[0]
    # Perplexity must be below the number of points; about (n - 1) / 3 keeps
    # enough neighbours for small sets, 30 is the usual default otherwise.
    perplexity = float(min(30.0, max(1.0, (n - 1) / 3.0)))
    model = TSNE(
        n_components=2,
        metric="cosine",
        perplexity=perplexity,
        init="pca",
        random_state=seed,
        method="barnes_hut" if n > 50 else "exact",
    )
    # One OpenMP thread: parallel reductions could reorder float sums between
    # runs (byte-identical exports), and spinning threads crawl on busy machines.
    with threadpool_limits(limits=1, user_api="openmp"):
        return np.asarray(model.fit_transform(data), dtype=np.float64)


def _check_stacked(stacked: object, method: str) -> np.ndarray:
    data = as_matrix(stacked, "stacked")
    if method != "pca" and data.shape[0] < _MIN_POINTS_MANIFOLD:
        raise ExportError(
            f"{method} needs at least {_MIN_POINTS_MANIFOLD} points, got {data.shape[0]}; use pca for tiny sets"
        )
    if method != "pca" and np.any(np.linalg.norm(data, axis=1) < 1e-12):
        raise ExportError(f"stacked has an all-zero row, which has no cosine distance for {method}")
    return data


def project(stacked: np.ndarray, method: str, *, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Project kN x D stacked embeddings to kN x 2 with ``method`` (pca, umap or tsne).

    pca: sklearn PCA with sign-fixed axes; umap: cosine metric, random_state=seed,
    n_neighbors clamped below the number of points; tsne: cosine metric,
    random_state=seed, perplexity clamped for small sets. Deterministic.
    """
    name = _check_method(method)
    data = _check_stacked(stacked, name)
    rng_seed = seed_int(seed)
    if name == "pca":
        return _pca(data, rng_seed)
    if name == "umap":
        return _umap(data, rng_seed)
    return _tsne(data, rng_seed)


def fit_transform_many(
    snapshots: Sequence[np.ndarray], method: str = "pca", *, seed: int = DEFAULT_SEED
) -> list[np.ndarray]:
    """Project several snapshots of the same points into ONE shared 2-D frame.

    Used for training dynamics: one PCA is fitted on all snapshots stacked
    together, then each snapshot is transformed, so motion between snapshots
    is real motion and not a change of axes. Only PCA has a meaningful
    shared ``transform``; other methods raise ExportError.
    """
    if method != "pca":
        _check_method(method)
        raise ExportError(f"fit_transform_many supports only 'pca' (a shared linear frame), got {method!r}")
    if isinstance(snapshots, np.ndarray) and snapshots.ndim == 3:
        snapshots = list(snapshots)
    if not isinstance(snapshots, Sequence) or len(snapshots) == 0:
        raise ExportError("snapshots must be a non-empty list of kN x D arrays")
    arrays = [as_matrix(s, f"snapshot {i}") for i, s in enumerate(snapshots)]
    dims = {a.shape[1] for a in arrays}
    if len(dims) != 1:
        raise ExportError(f"all snapshots must have the same dimension, got {sorted(dims)}")
    model = _SharedPCA(seed_int(seed)).fit(np.vstack(arrays))
    return [model.transform(a) for a in arrays]


class GapAxes:
    """A linear 2-D frame that shows the modality gap exactly.

    x is the coordinate along the unit gap vector g/||g|| (g = mean(image) -
    mean(text)), so the two centroids sit exactly ||g|| apart on x; y is the
    first principal component of what remains after removing that direction.
    PCA, UMAP and t-SNE need not put the gap on a visible axis (it is often
    not among the directions of largest variance); this frame always does.
    Fit on the original embeddings and reuse it for shifted ones, so a closed
    gap is seen as motion along x.
    """

    def __init__(self, seed: int = DEFAULT_SEED):
        self.seed = seed_int(seed)

    def fit(self, image: np.ndarray, text: np.ndarray) -> GapAxes:
        img = as_matrix(image, "image")
        txt = as_matrix(text, "text")
        if img.shape[1] != txt.shape[1]:
            raise ExportError(f"image and text dimensions differ ({img.shape[1]} vs {txt.shape[1]})")
        gap = img.mean(axis=0) - txt.mean(axis=0)
        norm = float(np.linalg.norm(gap))
        if norm < 1e-12:
            raise ExportError(
                "the two modalities have the same centroid, so there is no gap direction to show"
            )
        self.direction = gap / norm
        self.rest = _SharedPCA(self.seed).fit(self._residual(np.vstack([img, txt])))
        return self

    def _residual(self, data: np.ndarray) -> np.ndarray:
        return data - np.outer(data @ self.direction, self.direction)

    def transform(self, stacked: np.ndarray) -> np.ndarray:
        data = as_matrix(stacked, "stacked")
        along = data @ self.direction
        across = self.rest.transform(self._residual(data))[:, 0]
        return np.column_stack([along, across])


def project_steps(
    steps: Sequence[np.ndarray], method: str, *, n: int, seed: int = DEFAULT_SEED
) -> list[np.ndarray]:
    """Fit ``method`` once on ``steps[0]`` (the original embeddings) and map every step into that frame.

    ``steps``: kN x D stacked embeddings of the same points at each gap step
    (rows 0..n-1 images, n..2n-1 texts, then further modalities). Returns one
    kN x 2 array per step, all in one frame, so motion on screen is motion in
    the embedding space:

    - gap, pca: exact linear maps fitted on the original;
    - umap: the original's fitted layout, other steps placed by UMAP's
      ``transform``; rows equal to the original keep their fitted position
      (a point that did not move does not move);
    - tsne: has no transform for new points, so only the original is returned.
    """
    name = str(method)
    if name not in {m.key for m in PROJECTION_METHODS}:
        known = ", ".join(m.key for m in PROJECTION_METHODS)
        raise ExportError(f"unknown projection method {method!r}; valid methods: {known}")
    if not steps:
        raise ExportError("project_steps needs at least the original embeddings")
    original = _check_stacked(steps[0], "pca" if name == "gap" else name)
    others = [as_matrix(s, f"step {i}") for i, s in enumerate(steps[1:], start=1)]
    rng_seed = seed_int(seed)
    if name == "gap":
        axes = GapAxes(rng_seed).fit(original[:n], original[n : 2 * n])
        return [axes.transform(original), *(axes.transform(s) for s in others)]
    if name == "pca":
        pca = _SharedPCA(rng_seed).fit(original)
        return [pca.transform(original), *(pca.transform(s) for s in others)]
    if name == "tsne":
        return [_tsne(original, rng_seed)]
    model = _umap_model(original.shape[0], rng_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted = np.asarray(model.fit_transform(original), dtype=np.float64)
        placed = [fitted]
        for step in others:
            moved = np.any(step != original, axis=1)
            points = fitted.copy()
            if np.any(moved):
                points[moved] = np.asarray(model.transform(step[moved]), dtype=np.float64)
            placed.append(points)
    return placed


def linear_frame(
    method: str, image: np.ndarray, text: np.ndarray, extra=(), *, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """(axes 2 x D, bias 2) with ``points = stacked @ axes.T + bias`` equal to the projection
    this module computes for ``method`` ("gap" or "pca") on the original embeddings, so a new
    embedding (a reader's caption) can be placed in the same frame."""
    img, txt = as_matrix(image, "image"), as_matrix(text, "text")
    dim = img.shape[1]
    if method == "pca":
        fitted = _SharedPCA(seed_int(seed)).fit(np.vstack([img, txt, *extra]))
        if fitted.pca is None:
            return np.zeros((2, dim)), np.zeros(2)
        axes = np.zeros((2, dim))
        comps = fitted.pca.components_ * fitted.signs[:, None]
        axes[: comps.shape[0]] = comps[:2]
        return axes, -(fitted.pca.mean_ @ axes.T)
    if method == "gap":
        gap = GapAxes(seed).fit(img, txt)
        d = gap.direction
        if gap.rest.pca is None:
            return np.vstack([d, np.zeros(dim)]), np.zeros(2)
        c = gap.rest.pca.components_[0] * gap.rest.signs[0]
        # across = (x - (x.d) d - mean_rest) . c  =  x . (c - (d.c) d) - mean_rest . c
        return np.vstack([d, c - (d @ c) * d]), np.array([0.0, -(gap.rest.pca.mean_ @ c)])
    raise ExportError(f"projection {method!r} has no linear frame; only gap and pca do")
