"""The figure sample: which pairs the figures show when a dataset is larger than the author wants to ship.

Statistics are measured over every pair (analyses.streaming); figures draw a
seeded sample of `figure_pairs` pairs. With labels the sample is stratified:
each label keeps its share of the dataset (largest remainders round), so a
rare class is not lost by chance. Indices are returned in dataset order, so
the sample reads like the dataset, only thinner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from exporter.errors import ExportError


def _shares(counts: np.ndarray, size: int) -> np.ndarray:
    """Integer allocation of `size` proportional to counts (largest remainder; ties by position)."""
    exact = counts * size / counts.sum()
    shares = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - shares), kind="stable")
    for index in order[: size - int(shares.sum())]:
        shares[index] += 1
    return np.minimum(shares, counts)


def figure_sample(labels: Sequence[str | None], size: int, *, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded sample of `size` pairs, stratified by label; None if all fit."""
    n = len(labels)
    if isinstance(size, bool) or not isinstance(size, int) or size < 2:
        raise ExportError(f"figure_pairs must be an integer of at least 2, got {size!r}")
    if n <= size:
        return None
    rng = np.random.default_rng(seed)
    names = ["" if label is None else str(label) for label in labels]
    if len(set(names)) == 1:
        return np.sort(rng.choice(n, size=size, replace=False))
    strata = sorted(set(names))
    members = {name: [] for name in strata}
    for index, name in enumerate(names):
        members[name].append(index)
    counts = np.array([len(members[name]) for name in strata])
    shares = _shares(counts, size)
    chosen = [
        rng.choice(np.asarray(members[name]), size=int(share), replace=False)
        for name, share in zip(strata, shares, strict=True)
        if share
    ]
    return np.sort(np.concatenate(chosen))
