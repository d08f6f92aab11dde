"""The gap-axis frame puts the centroid distance exactly on x and keeps it for shifted points."""

import numpy as np
import pytest

from exporter.analyses import gap_shift
from exporter.analyses.projection import GapAxes
from exporter.errors import ExportError

from ._synthetic import random_pairs


def test_centroids_lie_the_gap_apart_on_x():
    image, text = random_pairs(40, 16, gap=0.8, noise=0.3, seed=3)
    axes = GapAxes(seed=1).fit(image, text)
    points = axes.transform(np.vstack([image, text]))
    n = len(image)
    gap = np.linalg.norm(image.mean(0) - text.mean(0))
    assert points[:n, 0].mean() - points[n:, 0].mean() == pytest.approx(gap)
    # y carries nothing of the gap direction: both centroids share it up to the spread of the rest.
    assert abs(points[:n, 1].mean() - points[n:, 1].mean()) < gap


def test_closed_gap_shows_as_motion_along_x_in_the_same_frame():
    image, text = random_pairs(40, 16, gap=0.8, noise=0.3, seed=4)
    axes = GapAxes().fit(image, text)
    closed_image, closed_text = gap_shift.close_gap(image, text, 1.0)
    points = axes.transform(np.vstack([closed_image, closed_text]))
    n = len(image)
    remaining = np.linalg.norm(closed_image.mean(0) - closed_text.mean(0))
    assert abs(points[:n, 0].mean() - points[n:, 0].mean()) <= remaining + 1e-9
    assert remaining < 0.1 * np.linalg.norm(image.mean(0) - text.mean(0))


def test_same_centroids_have_no_gap_direction():
    image, _ = random_pairs(10, 8, gap=0.5, noise=0.3, seed=5)
    with pytest.raises(ExportError, match="no gap direction"):
        GapAxes().fit(image, image)
