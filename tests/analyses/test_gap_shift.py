import numpy as np
import pytest

from exporter.analyses.gap_shift import close_gap, gap_steps, gap_vector, loss_landscape, shift
from exporter.analyses.metrics import contrastive_loss, gap_metrics
from exporter.errors import ExportError

from ._synthetic import circle_pairs, random_pairs

C = 0.6


def test_gap_vector_norm_is_centroid_distance():
    image, text = random_pairs(15, 6, gap=1.0, noise=0.3, seed=1)
    g = gap_vector(image, text)
    assert np.linalg.norm(g) == pytest.approx(gap_metrics(image, text, logit_scale=10.0)["centroid_distance"])


def test_close_gap_on_circle_makes_pairs_coincide():
    image, text, angles, _ = circle_pairs(8, C)
    closed_image, closed_text = close_gap(image, text)
    # Both lose their z = +-c lift and are renormalised onto the unit circle.
    ring = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1)
    assert closed_image == pytest.approx(ring)
    assert closed_text == pytest.approx(ring)


def test_close_gap_reduces_generic_gap_to_near_zero():
    image, text = random_pairs(40, 64, gap=6.0, noise=0.4, seed=2)
    before = np.linalg.norm(gap_vector(image, text))
    closed_image, closed_text = close_gap(image, text, fraction=1.0)
    after = np.linalg.norm(gap_vector(closed_image, closed_text))
    assert before > 0.5
    # Renormalising re-introduces a little gap (Amumo: 0.81 -> 0.04), never much
    # when, as in real models, the rows have similar components along the gap.
    assert after < 0.05 * before
    assert np.linalg.norm(closed_image, axis=1) == pytest.approx(1.0)


def test_close_gap_fraction_zero_is_identity_and_half_is_between():
    image, text = random_pairs(20, 5, gap=1.0, noise=0.3, seed=3)
    same_image, same_text = close_gap(image, text, fraction=0.0)
    assert same_image == pytest.approx(image) and same_text == pytest.approx(text)
    half = np.linalg.norm(gap_vector(*close_gap(image, text, 0.5)))
    full = np.linalg.norm(gap_vector(*close_gap(image, text, 1.0)))
    assert full < half < np.linalg.norm(gap_vector(image, text))


def test_shift_moves_other_embeddings_with_the_same_vector():
    classes = np.array([[0.8, 0.0, -0.6], [0.0, 0.8, -0.6]])
    moved = shift(classes, np.array([0.0, 0.0, 0.6]))
    assert moved == pytest.approx(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    with pytest.raises(ExportError, match="offset"):
        shift(classes, np.zeros(2))
    with pytest.raises(ExportError, match="origin"):
        shift(classes, -classes[0])


def test_gap_steps_report_metrics_and_matrices():
    image, text, _, _ = circle_pairs(6, C)
    steps = gap_steps(image, text, [0.0, 0.5, 1.0], logit_scale=10.0, logit_bias=-2.0)
    assert [s["fraction"] for s in steps] == [0.0, 0.5, 1.0]
    assert steps[0]["centroid_distance"] == pytest.approx(2 * C)
    assert steps[2]["centroid_distance"] == pytest.approx(0.0, abs=1e-12)
    assert steps[0]["loss_i2t"] == pytest.approx(contrastive_loss(image, text, logit_scale=10.0)[0])
    for step in steps:
        assert step["similarity"].shape == (12, 12)
        assert step["image"].shape == (6, 3) and step["text"].shape == (6, 3)
        assert set(step["recall_i2t"]) == {"r1", "r5", "r10"}
        assert "loss_sigmoid" in step
    # Closing the gap raises cross-modal similarity of the matched pairs.
    assert np.trace(steps[2]["similarity"][:6, 6:]) > np.trace(steps[0]["similarity"][:6, 6:])
    with pytest.raises(ExportError, match="fractions"):
        gap_steps(image, text, [], logit_scale=10.0)


def _circle_distance(delta: float) -> float:
    """Hand-derived signed gap on the circle: images end at z = (c - delta/2) / |(a, c - delta/2)|."""
    a2 = 1 - C * C
    z = (C - delta / 2) / np.sqrt(a2 + (C - delta / 2) ** 2)
    return 2 * z


def test_landscape_matches_hand_derived_distances():
    image, text, _, _ = circle_pairs(8, C)
    result = loss_landscape(image, text, logit_scale=10.0)
    assert len(result["delta"]) == 41
    assert result["delta"][0] == -5.0 and result["delta"][-1] == 5.0
    expected = [_circle_distance(d) for d in result["delta"]]
    assert result["distance"] == pytest.approx(expected)
    # Distance falls monotonically from about +2 (widened) to about -2 (swapped sides).
    assert np.all(np.diff(result["distance"]) < 0)
    assert result["distance"][0] > 1.9 and result["distance"][-1] < -1.8
    assert result["loss"] == pytest.approx((np.array(result["loss_i2t"]) + result["loss_t2i"]) / 2)


def test_landscape_original_and_closed_points():
    image, text = random_pairs(25, 6, gap=1.2, noise=0.5, seed=4)
    result = loss_landscape(image, text, logit_scale=20.0)
    metrics = gap_metrics(image, text, logit_scale=20.0)
    original = result["original"]
    assert original["delta"] == 0.0
    assert original["distance"] == pytest.approx(metrics["centroid_distance"])
    assert original["loss"] == pytest.approx((metrics["loss_i2t"] + metrics["loss_t2i"]) / 2)
    # The closed point is close_gap(fraction=1) seen through the landscape formula.
    closed = result["closed"]
    closed_image, closed_text = close_gap(image, text)
    closed_metrics = gap_metrics(closed_image, closed_text, logit_scale=20.0)
    assert closed["delta"] == pytest.approx(metrics["centroid_distance"])
    assert abs(closed["distance"]) == pytest.approx(closed_metrics["centroid_distance"])
    assert closed["loss"] == pytest.approx((closed_metrics["loss_i2t"] + closed_metrics["loss_t2i"]) / 2)


def test_landscape_is_mirror_symmetric_about_the_closing_shift():
    # On the circle, images and texts are mirror images through z = 0, so a
    # shift x past the closing point equals x short of it with roles swapped:
    # same loss, opposite distance, and i2t == t2i everywhere.
    image, text, _, _ = circle_pairs(8, C)
    x = np.array([0.1, 0.4, 0.9, 2.0])
    closing = 2 * C
    deltas = np.concatenate([closing - x, closing + x])
    result = loss_landscape(image, text, logit_scale=10.0, deltas=deltas)
    loss = np.array(result["loss"])
    distance = np.array(result["distance"])
    assert loss[:4] == pytest.approx(loss[4:])
    assert distance[:4] == pytest.approx(-distance[4:])
    assert result["loss_i2t"] == pytest.approx(result["loss_t2i"])
    # Closing the gap on the circle makes pairs identical: the loss is lowest there.
    closed = result["closed"]
    assert closed["distance"] == pytest.approx(0.0, abs=1e-12)
    assert closed["loss"] < loss.min()


def test_landscape_validation():
    image, text = random_pairs(5, 3, gap=1.0, noise=0.3, seed=5)
    with pytest.raises(ExportError, match="deltas"):
        loss_landscape(image, text, logit_scale=10.0, deltas=[])
    with pytest.raises(ExportError, match="deltas"):
        loss_landscape(image, text, logit_scale=10.0, deltas=[0.0, np.nan])
    with pytest.raises(ExportError, match="logit_scale"):
        loss_landscape(image, text, logit_scale=0.0)


def test_landscape_without_gap_is_flat():
    image, _ = random_pairs(6, 3, gap=0.0, noise=0.0, seed=6)
    result = loss_landscape(image, image, logit_scale=10.0, deltas=[-1.0, 0.0, 1.0])
    assert result["distance"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    assert result["loss"][0] == pytest.approx(result["loss"][2])
