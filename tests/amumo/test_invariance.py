"""Recovery gives embeddings only up to an orthogonal transform: every export must not care."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from exporter.analyses import gap_shift, metrics, projection, similarity
from exporter.gram import recover_embeddings
from tests.analyses._synthetic import random_pairs


@pytest.fixture(scope="module")
def spaces():
    image, text = random_pairs(60, 16, gap=0.6, noise=0.4, seed=7)
    rotation = ortho_group.rvs(16, random_state=3)
    return (image, text), (image @ rotation, text @ rotation)


def _close(a, b, tol=1e-9):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _close(a[key], b[key], tol)
    else:
        np.testing.assert_allclose(a, b, atol=tol)


def test_metrics_similarity_and_gap_shift_are_invariant(spaces) -> None:
    (image, text), (image_r, text_r) = spaces
    _close(
        metrics.gap_metrics(image, text, logit_scale=30.0, seed=1),
        metrics.gap_metrics(image_r, text_r, logit_scale=30.0, seed=1),
        tol=1e-6,  # separability: a logistic regression solved to its own tolerance
    )
    _close(similarity.stacked_similarity([image, text]), similarity.stacked_similarity([image_r, text_r]))
    steps = gap_shift.gap_steps(image, text, [0.0, 0.5, 1.0], logit_scale=30.0)
    steps_r = gap_shift.gap_steps(image_r, text_r, [0.0, 0.5, 1.0], logit_scale=30.0)
    for step, step_r in zip(steps, steps_r, strict=True):
        _close(step["similarity"], step_r["similarity"])
        _close(step["loss_i2t"], step_r["loss_i2t"])
    _close(
        gap_shift.loss_landscape(image, text, logit_scale=30.0)["loss"],
        gap_shift.loss_landscape(image_r, text_r, logit_scale=30.0)["loss"],
    )


def test_projections_are_invariant(spaces) -> None:
    (image, text), (image_r, text_r) = spaces
    stacked, stacked_r = np.concatenate([image, text]), np.concatenate([image_r, text_r])
    # PCA and the gap axes: the same points up to the sign of each axis.
    pca, pca_r = projection.project(stacked, "pca", seed=1), projection.project(stacked_r, "pca", seed=1)
    _close(np.abs(pca), np.abs(pca_r), tol=1e-9)
    axes = projection.GapAxes(1).fit(image, text).transform(stacked)
    axes_r = projection.GapAxes(1).fit(image_r, text_r).transform(stacked_r)
    _close(np.abs(axes), np.abs(axes_r), tol=1e-9)
    # UMAP and t-SNE (metric="cosine") read nothing but cosine distances, which are unchanged; their
    # optimisers are not reproducible under float rounding, so their outputs are compared by input only.
    cosine = stacked @ stacked.T / np.outer(np.linalg.norm(stacked, axis=1), np.linalg.norm(stacked, axis=1))
    cosine_r = (
        stacked_r
        @ stacked_r.T
        / np.outer(np.linalg.norm(stacked_r, axis=1), np.linalg.norm(stacked_r, axis=1))
    )
    _close(cosine, cosine_r, tol=1e-12)


def test_recovered_embeddings_give_the_original_exports(spaces) -> None:
    (image, text), _ = spaces
    recovered = recover_embeddings(similarity.stacked_similarity([image, text]), name="syn").vectors
    image_x, text_x = recovered[:60], recovered[60:]
    _close(
        metrics.gap_metrics(image, text, logit_scale=100.0, seed=1),
        metrics.gap_metrics(image_x, text_x, logit_scale=100.0, seed=1),
        tol=1e-6,
    )
