import numpy as np
import pytest

from exporter.analyses.metrics import contrastive_loss, gap_metrics, sigmoid_loss
from exporter.errors import ExportError

from ._synthetic import circle_pairs, loop_infonce, random_pairs

N, C = 8, 0.6  # a = 0.8


@pytest.fixture(scope="module")
def circle():
    image, text, angles, a = circle_pairs(N, C)
    return image, text, angles, a, gap_metrics(image, text, logit_scale=10.0)


def test_centroid_and_pair_distance_are_twice_the_lift(circle):
    _, _, _, _, m = circle
    # Means are (0, 0, +c) and (0, 0, -c); every pair differs by (0, 0, 2c).
    assert m["centroid_distance"] == pytest.approx(2 * C)
    assert m["pair_distance"] == pytest.approx(2 * C)


def test_pair_cosine_and_cones(circle):
    _, _, _, a, m = circle
    assert m["pair_cosine"] == pytest.approx(a * a - C * C)
    # cos(x_i, x_j) = a^2 cos(t_i - t_j) + c^2 and the off-diagonal cosines of
    # evenly spaced angles sum to -1 per row.
    cone = C * C - a * a / (N - 1)
    assert m["cone_image"] == pytest.approx(cone)
    assert m["cone_text"] == pytest.approx(cone)


def test_relative_gap_formula(circle):
    _, _, _, a, m = circle
    matched = 2 * C * C  # 1 - (a^2 - c^2)
    within = 1 - (C * C - a * a / (N - 1))
    assert m["relative_gap"] == pytest.approx(matched / (within + matched))


def test_relative_gap_is_zero_without_gap():
    image, _ = random_pairs(12, 5, gap=0.0, noise=0.0, seed=1)
    assert gap_metrics(image, image, logit_scale=10.0)["relative_gap"] == pytest.approx(0.0, abs=1e-12)


def test_loss_closed_form_on_circle(circle):
    _, _, angles, a, m = circle
    scale = 10.0
    # Row i of the logits is scale*(a^2 cos(t_i - t_j) - c^2); the -c^2 cancels.
    expected = np.log(np.sum(np.exp(scale * a * a * np.cos(angles)))) - scale * a * a
    assert m["loss_i2t"] == pytest.approx(expected)
    assert m["loss_t2i"] == pytest.approx(expected)


def test_loss_directions_differ_and_match_loops():
    image, text = random_pairs(9, 6, gap=0.5, noise=0.8, seed=3)
    i2t, t2i = contrastive_loss(image, text, logit_scale=7.0)
    ref_i2t, ref_t2i = loop_infonce(image, text, 7.0)
    assert i2t == pytest.approx(ref_i2t, rel=1e-10)
    assert t2i == pytest.approx(ref_t2i, rel=1e-10)
    assert abs(i2t - t2i) > 1e-3  # the two directions are really computed separately


def test_loss_is_stable_at_huge_scale():
    image, text = random_pairs(6, 4, gap=0.3, noise=0.5, seed=4)
    i2t, t2i = contrastive_loss(image, text, logit_scale=1e4)
    assert np.isfinite(i2t) and np.isfinite(t2i) and i2t >= 0 and t2i >= 0


def test_bias_does_not_change_infonce_but_adds_sigmoid_loss():
    image, text = random_pairs(7, 5, gap=0.4, noise=0.6, seed=5)
    plain = gap_metrics(image, text, logit_scale=10.0)
    siglip = gap_metrics(image, text, logit_scale=10.0, logit_bias=-3.0)
    assert "loss_sigmoid" not in plain
    assert siglip["loss_i2t"] == pytest.approx(plain["loss_i2t"])
    n = image.shape[0]
    expected = 0.0
    for i in range(n):
        for j in range(n):
            z = 1.0 if i == j else -1.0
            logit = 10.0 * float(image[i] @ text[j]) - 3.0
            expected += -np.log(1.0 / (1.0 + np.exp(-z * logit)))
    assert siglip["loss_sigmoid"] == pytest.approx(expected / n)
    assert sigmoid_loss(image, text, logit_scale=10.0, logit_bias=-3.0) == pytest.approx(expected / n)
    with pytest.raises(ExportError, match="logit_bias"):
        sigmoid_loss(image, text, logit_scale=10.0, logit_bias=None)


def test_recall_on_circle_is_perfect(circle):
    _, _, _, _, m = circle
    assert m["recall_i2t"] == {"r1": 1.0, "r5": 1.0, "r10": 1.0}
    assert m["recall_t2i"] == {"r1": 1.0, "r5": 1.0, "r10": 1.0}


def test_separability_high_with_gap_chance_without():
    image, text = random_pairs(20, 6, gap=4.0, noise=0.2, seed=6)
    assert gap_metrics(image, text, logit_scale=10.0)["separability"] == pytest.approx(1.0)
    same, _ = random_pairs(20, 6, gap=0.0, noise=0.0, seed=7)
    assert gap_metrics(same, same, logit_scale=10.0)["separability"] <= 0.6


def test_separability_deterministic_and_handles_tiny_n():
    image, text = random_pairs(3, 4, gap=1.0, noise=0.5, seed=8)
    first = gap_metrics(image, text, logit_scale=10.0, seed=11)["separability"]
    assert first == gap_metrics(image, text, logit_scale=10.0, seed=11)["separability"]
    assert 0.0 <= first <= 1.0
    two_image, two_text = random_pairs(2, 4, gap=1.0, noise=0.5, seed=9)
    assert 0.0 <= gap_metrics(two_image, two_text, logit_scale=10.0)["separability"] <= 1.0


def test_unnormalised_input_is_normalised():
    image, text = random_pairs(6, 4, gap=0.5, noise=0.3, seed=10)
    a = gap_metrics(image, text, logit_scale=5.0)
    b = gap_metrics(image * 3.0, text * 0.5, logit_scale=5.0)
    for key, value in a.items():
        assert b[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_metric_keys_come_from_the_registry_and_the_schema_requires_them():
    from exporter import payloads
    from exporter.analyses.metrics import MEASURES

    image, text = random_pairs(5, 4, gap=0.5, noise=0.3, seed=12)
    measured = gap_metrics(image, text, logit_scale=5.0)
    computed = {m.key for m in MEASURES if m.compute is not None}
    assert set(measured) == computed | {"recall_i2t", "recall_t2i"}
    # Every column reads paths that exist in the measured metrics.
    for measure in MEASURES:
        for path in measure.paths():
            value = measured
            for part in path.split("."):
                value = value[part]
            assert isinstance(value, float), (measure.key, path)
    # The manifest schema, narrowed by the registry, requires every computed measure.
    closed = {k: measured[k] for k in ("centroid_distance", "loss_i2t", "loss_t2i", "recall_i2t", "recall_t2i")}
    result = {"model": "m", "dataset": "d", "files": dict.fromkeys(("similarity", "projections", "retrieval", "gap"), "x")}
    payloads.manifest_payload(1, [], [], [result | {"metrics": measured | {"closed": closed}}], [])
    for key in sorted(computed):
        incomplete = {k: v for k, v in measured.items() if k != key} | {"closed": closed}
        with pytest.raises(ExportError, match=f"'{key}' is a required property"):
            payloads.manifest_payload(1, [], [], [result | {"metrics": incomplete}], [])


@pytest.mark.parametrize(
    ("image", "text", "kwargs", "message"),
    [
        (np.ones((4, 3)), np.ones((5, 3)), {}, "one row per pair"),
        (np.ones((4, 3)), np.ones((4, 2)), {}, "same space"),
        (np.ones(4), np.ones(4), {}, "2-D"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), np.eye(2), {}, "NaN"),
        (np.array([[0.0, 0.0], [0.0, 1.0]]), np.eye(2), {}, "all zeros"),
        (np.ones((1, 3)), np.ones((1, 3)), {}, "at least 2"),
        (np.eye(3), np.eye(3), {"logit_scale": -1.0}, "logit_scale"),
        (np.eye(3), np.eye(3), {"logit_scale": float("nan")}, "logit_scale"),
        (np.eye(3), np.eye(3), {"logit_bias": "x"}, "logit_bias"),
        (np.eye(3), np.eye(3), {"seed": -5}, "seed"),
        (np.eye(3), np.eye(3), {"seed": 1.5}, "seed"),
    ],
)
def test_bad_input_raises_one_line(image, text, kwargs, message):
    args = {"logit_scale": 10.0, **kwargs}
    with pytest.raises(ExportError, match=message) as info:
        gap_metrics(image, text, **args)
    assert "\n" not in str(info.value)
