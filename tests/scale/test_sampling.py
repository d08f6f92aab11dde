"""The figure sample: seeded, stratified by label, in dataset order."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from exporter.errors import ExportError
from exporter.sampling import figure_sample


def test_stratified_shares_follow_the_labels() -> None:
    labels = ["cat"] * 700 + ["dog"] * 250 + ["eel"] * 50
    chosen = figure_sample(labels, 100, seed=7)
    assert len(chosen) == 100 and len(set(chosen.tolist())) == 100
    assert np.all(np.diff(chosen) > 0)  # dataset order
    assert Counter(labels[i] for i in chosen) == {"cat": 70, "dog": 25, "eel": 5}


def test_seeded_and_none_when_everything_fits() -> None:
    labels = [None] * 500
    assert np.array_equal(figure_sample(labels, 40, seed=1), figure_sample(labels, 40, seed=1))
    assert not np.array_equal(figure_sample(labels, 40, seed=1), figure_sample(labels, 40, seed=2))
    assert figure_sample(labels, 500, seed=1) is None


def test_a_too_small_sample_is_refused() -> None:
    with pytest.raises(ExportError, match="figure_pairs must be an integer of at least 2"):
        figure_sample(["a"] * 10, 1, seed=1)
