import numpy as np
import pytest

from exporter.analyses.projection import METHODS, fit_transform_many, project, project_steps
from exporter.errors import ExportError

from ._synthetic import random_pairs


@pytest.fixture(scope="module")
def stacked():
    image, text = random_pairs(15, 8, gap=1.0, noise=0.3, seed=21)
    return np.vstack([image, text])


@pytest.mark.parametrize("method", METHODS)
def test_projection_shape_and_determinism(stacked, method):
    first = project(stacked, method, seed=31415)
    second = project(stacked.copy(), method, seed=31415)
    assert first.shape == (30, 2)
    assert np.all(np.isfinite(first))
    assert np.array_equal(first, second)


def test_pca_recovers_a_known_plane():
    # Points spread along x (wide) and y (narrow) in 5-D: PCA axes are x then y.
    t = np.linspace(-1.0, 1.0, 9)
    data = np.zeros((9, 5))
    data[:, 0] = 3.0 * t
    data[:, 1] = 0.5 * t**2
    points = project(data, "pca", seed=0)
    assert points[:, 0] == pytest.approx(3.0 * t)  # largest loading (+x) pinned positive
    centred = 0.5 * t**2 - np.mean(0.5 * t**2)
    assert points[:, 1] == pytest.approx(centred)


def test_pca_signs_are_pinned_whatever_the_row_order(stacked):
    order = np.random.default_rng(0).permutation(stacked.shape[0])
    permuted = project(stacked[order], "pca", seed=0)
    assert permuted == pytest.approx(project(stacked, "pca", seed=0)[order])


def test_tiny_inputs():
    assert project(np.array([[1.0, 0.0, 0.0]]), "pca", seed=0).shape == (1, 2)
    assert project(np.array([[1.0], [2.0], [4.0]]), "pca", seed=0).shape == (3, 2)
    small = np.random.default_rng(1).normal(size=(6, 4))
    assert project(small, "tsne", seed=0).shape == (6, 2)
    with pytest.raises(ExportError, match="at least 4 points"):
        project(small[:3], "tsne", seed=0)


def test_umap_small_n_respects_neighbour_limit():
    small = np.random.default_rng(2).normal(size=(8, 4))
    first = project(small, "umap", seed=5)
    assert first.shape == (8, 2) and np.all(np.isfinite(first))
    assert np.array_equal(first, project(small, "umap", seed=5))


def test_unknown_method_lists_valid_ones(stacked):
    with pytest.raises(ExportError, match="pca, umap, tsne"):
        project(stacked, "isomap", seed=0)
    with pytest.raises(ExportError, match="seed"):
        project(stacked, "pca", seed=-1)
    with pytest.raises(ExportError, match="NaN"):
        project(np.full((4, 2), np.nan), "pca", seed=0)


def test_fit_transform_many_shares_one_frame(stacked):
    moved = stacked.copy()
    moved[:, 0] += 2.0  # every point moves the same way between snapshots
    before, after = fit_transform_many([stacked, moved], seed=0)
    assert before.shape == after.shape == (30, 2)
    # In one shared frame a common translation stays a common translation.
    delta = after - before
    assert delta == pytest.approx(np.broadcast_to(delta[0], delta.shape))
    assert np.linalg.norm(delta[0]) > 1.0
    (alone,) = fit_transform_many([stacked], seed=0)
    assert alone == pytest.approx(project(stacked, "pca", seed=0))
    with pytest.raises(ExportError, match="only 'pca'"):
        fit_transform_many([stacked], "umap", seed=0)
    with pytest.raises(ExportError, match="same dimension"):
        fit_transform_many([stacked, stacked[:, :3]], seed=0)


def test_tsne_barnes_hut_is_deterministic_too():
    # Above 50 points t-SNE switches to the Barnes-Hut approximation.
    image, text = random_pairs(30, 8, gap=1.0, noise=0.3, seed=22)
    stacked = np.vstack([image, text])
    first = project(stacked, "tsne", seed=7)
    assert first.shape == (60, 2)
    assert np.array_equal(first, project(stacked, "tsne", seed=7))


@pytest.mark.parametrize("method", ["gap", "pca", "umap"])
def test_every_gap_step_in_one_frame_and_unmoved_points_stay_put(method):
    """Rows whose embedding does not change between steps keep their projected position, in every
    step (and after quantisation, as the browser reads it); rows that moved do move."""
    from exporter import payloads
    from exporter.analyses.gap_shift import close_gap
    from exporter.contract import decode_array

    image, text = random_pairs(8, 6, gap=0.8, noise=0.3, seed=3)
    original = np.vstack([image, text])
    steps = [original]
    for fraction in (0.5, 1.0):
        moved_image, moved_text = close_gap(image, text, fraction)
        # The first four pairs stay put: only the others are shifted.
        steps.append(
            np.vstack([np.vstack([image[:4], moved_image[4:]]), np.vstack([text[:4], moved_text[4:]])])
        )
    points = project_steps(steps, method, n=8, seed=5)
    assert len(points) == len(steps)
    still = np.r_[0:4, 8:12]
    for step in points[1:]:
        np.testing.assert_array_equal(step[still], points[0][still])
        assert np.abs(step - points[0]).max() > 1e-3  # the others did move
    encoded = payloads.projections_payload({method: points}, [0.0, 0.5, 1.0])["points"][method]
    decoded = [decode_array(step) for step in encoded]
    for step in decoded[1:]:
        np.testing.assert_array_equal(step[still], decoded[0][still])


def test_three_modalities_close_every_gap_in_one_frame():
    """k > 2: each step closes every pairwise gap (modalities.close_all), mapped into the original frame."""
    from exporter import payloads
    from exporter.analyses.modalities import close_all

    image, text = random_pairs(8, 6, gap=0.8, noise=0.3, seed=3)
    audio, _ = random_pairs(8, 6, gap=0.5, noise=0.3, seed=4)
    original, closed = payloads.project_gap_steps([image, text, audio], ["pca"], [0.0, 1.0], seed=5)["pca"]
    frame = project_steps(
        [np.vstack([image, text, audio]), np.vstack(close_all([image, text, audio], 1.0))], "pca", n=8, seed=5
    )
    np.testing.assert_allclose(original, frame[0])
    np.testing.assert_allclose(closed, frame[1])


def test_linear_frames_are_fitted_once_not_per_step():
    """PCA of the closed step is the original PCA applied to it, not a PCA refitted on it."""
    from exporter import payloads
    from exporter.analyses.gap_shift import close_gap

    image, text = random_pairs(10, 5, gap=0.8, noise=0.3, seed=6)
    original, closed = payloads.project_gap_steps([image, text], ["pca"], [0.0, 1.0], seed=1)["pca"]
    np.testing.assert_allclose(original, project(np.vstack([image, text]), "pca", seed=1))
    refitted = project(np.vstack(close_gap(image, text, 1.0)), "pca", seed=1)
    assert not np.allclose(closed, refitted, atol=1e-3)


def test_tsne_is_not_animated_and_says_why():
    from exporter import payloads
    from exporter.analyses.projection import PROJECTION_METHODS

    image, text = random_pairs(8, 5, gap=0.8, noise=0.3, seed=7)
    steps = payloads.project_gap_steps([image, text], ["tsne"], [0.0, 0.5, 1.0], seed=1)["tsne"]
    assert len(steps) == 1
    tsne = next(m for m in PROJECTION_METHODS if m.key == "tsne")
    assert not tsne.animated and "cannot place new points" in tsne.note
    assert all(m.animated for m in PROJECTION_METHODS if m.key != "tsne")
