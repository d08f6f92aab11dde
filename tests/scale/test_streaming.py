"""Blockwise statistics equal the dense ones, whatever the block size and thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exporter.analyses import metrics, retrieval, streaming
from exporter.analyses._checks import paired
from exporter.errors import ExportError
from tests.analyses._synthetic import random_pairs


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 16 rows, so a few hundred pairs cross many block borders."""
    monkeypatch.setattr(streaming, "BLOCK_CELLS", 16)


def test_blockwise_values_equal_the_dense_metrics(small_blocks) -> None:
    image, text = random_pairs(150, 12, gap=0.6, noise=0.9, seed=3)
    values, intervals = streaming.dataset_statistics(
        image, text, logit_scale=20.0, logit_bias=-4.0, resamples=100, seed=1
    )
    dense = metrics.gap_metrics(image, text, logit_scale=20.0, logit_bias=-4.0)
    for key, value in values.items():
        if isinstance(value, dict):
            assert value == dense[key], key  # recall: counts, exact
        else:
            assert value == pytest.approx(dense[key], rel=2e-5, abs=1e-6), key
    assert 0.0 < values["recall_i2t"]["r1"] < 1.0  # the data is neither trivial nor hopeless


def test_columns_far_below_the_block_maximum_keep_their_loss(small_blocks) -> None:
    # Logit scale 100; images and most texts near +e1, a quarter of the texts near -e1: those
    # texts' best logit lies ~190 below the block's best, where float32 exp() underflows.
    rng = np.random.default_rng(8)
    axis = np.eye(4)[0]
    image = axis + 0.3 * rng.normal(size=(64, 4))
    text = np.where(np.arange(64)[:, None] % 4 == 0, -axis, axis) + 0.3 * rng.normal(size=(64, 4))
    values, _ = streaming.dataset_statistics(image, text, logit_scale=100.0, resamples=20)
    dense = metrics.contrastive_loss(image, text, logit_scale=100.0)
    assert values["loss_t2i"] == pytest.approx(dense[1], rel=2e-5)
    assert values["loss_i2t"] == pytest.approx(dense[0], rel=2e-5)


def test_exact_ties_rank_like_the_dense_retrieval(small_blocks) -> None:
    # Rows with four coordinates of 0.5 and four of 0: unit length, and every score is a
    # multiple of 1/4, exact in float32 and float64 alike. Repeated texts add more ties.
    rng = np.random.default_rng(0)

    def half_rows(count: int) -> np.ndarray:
        rows = np.zeros((count, 8))
        for row in rows:
            row[rng.choice(8, size=4, replace=False)] = 0.5
        return rows

    image = half_rows(60)
    text = np.repeat(half_rows(20), 3, axis=0)
    queries = streaming.per_query(image, text, logit_scale=10.0)
    values = streaming.point_statistics(image, text, queries)
    dense = retrieval.recall_at_k(image, text, (1, 5, 10))
    assert values["recall_i2t"] == dense["i2t"]
    assert values["recall_t2i"] == dense["t2i"]



def _dense_ranks(image, text):
    img, txt = paired(image, text)  # the dense path's float64 rows
    return retrieval._match_ranks(img, txt), retrieval._match_ranks(txt, img)


def test_repeated_captions_tie_wherever_their_cells_are_computed(small_blocks) -> None:
    # General float vectors, so a matrix product can round two equal columns differently
    # by their position; captions repeated as in DiffusionDB, whose prompts repeat.
    rng = np.random.default_rng(12)
    image = rng.normal(size=(90, 197)).astype(np.float32)
    text = (image + 1.5 * rng.normal(size=(90, 197))).astype(np.float32)
    for a, b in [(3, 40), (17, 18), (25, 88), (60, 61), (0, 89)]:
        text[b] = text[a]
        image[b] = image[a] + 0.05 * rng.normal(size=197).astype(np.float32)
    queries = streaming.per_query(image, text, logit_scale=100.0)
    dense_i2t, dense_t2i = _dense_ranks(image, text)
    assert np.array_equal(queries.rank_i2t, dense_i2t)
    assert np.array_equal(queries.rank_t2i, dense_t2i)
    # Independently: score each distinct caption once, so copies get bit-equal scores.
    img, txt = paired(image, text)
    distinct, which = np.unique(txt, axis=0, return_inverse=True)
    scores = (img @ distinct.T)[:, which.ravel()]
    own = np.diag(scores)[:, None]
    expected = np.sum(scores > own, axis=1) + np.sum((scores == own) & np.tri(90, k=-1, dtype=bool), axis=1)
    assert np.array_equal(queries.rank_i2t, expected)
    assert queries.rank_i2t[89] >= 1  # its caption is also text 0's, which lists first


def test_the_diffusiondb_prompts_rank_alike_in_both_paths() -> None:
    # The article's DiffusionDB data (three prompts appear twice): its statistics and its
    # explorer's step 0 once disagreed on R@1 (0.83 and 0.84) by how such ties fell.
    folder = Path(__file__).resolve().parents[2] / "article" / "amumo" / "diffusiondb" / "CLIP"
    image, text = np.load(folder / "image.npy"), np.load(folder / "text.npy")
    queries = streaming.per_query(image, text, logit_scale=100.0)
    dense_i2t, dense_t2i = _dense_ranks(image, text)
    assert np.array_equal(queries.rank_i2t, dense_i2t)
    assert np.array_equal(queries.rank_t2i, dense_t2i)


def test_threads_and_blocks_do_not_change_a_bit(monkeypatch) -> None:
    image, text = random_pairs(97, 8, gap=0.4, noise=1.0, seed=5)
    whole = streaming.dataset_statistics(image, text, logit_scale=30.0, resamples=50, workers=1)
    monkeypatch.setattr(streaming, "BLOCK_CELLS", 16)
    blocked = streaming.dataset_statistics(image, text, logit_scale=30.0, resamples=50, workers=1)
    threaded = streaming.dataset_statistics(image, text, logit_scale=30.0, resamples=50, workers=2)
    assert blocked == threaded
    assert blocked[0]["recall_i2t"] == whole[0]["recall_i2t"]
    assert blocked[0]["loss_i2t"] == pytest.approx(whole[0]["loss_i2t"], rel=1e-6)


def test_intervals_hold_the_value_and_narrow_with_more_pairs() -> None:
    widths = []
    for n in (60, 600):
        image, text = random_pairs(n, 8, gap=0.5, noise=1.0, seed=2)
        values, intervals = streaming.dataset_statistics(image, text, logit_scale=10.0, resamples=200)
        for key in ("centroid_distance", "pair_cosine", "loss_i2t", "loss_t2i", "relative_gap", "cone_text"):
            low, high = intervals[key]
            assert low <= values[key] <= high, key
        low, high = intervals["recall_i2t"]["r5"]
        assert low <= values["recall_i2t"]["r5"] <= high
        widths.append(intervals["loss_i2t"][1] - intervals["loss_i2t"][0])
    assert widths[1] < widths[0] / 2  # ~ 1/sqrt(N): ten times the pairs, a third of the width


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"resamples": 3}, "at least 10"), ({"confidence": 1.0}, "strictly between 0 and 1")],
)
def test_bad_bootstrap_settings_name_the_setting(kwargs, message) -> None:
    image, text = random_pairs(20, 4, gap=0.5, noise=1.0, seed=2)
    with pytest.raises(ExportError, match=message):
        streaming.dataset_statistics(image, text, logit_scale=10.0, **kwargs)
