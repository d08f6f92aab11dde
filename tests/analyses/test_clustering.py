import numpy as np
import pytest

from exporter.analyses.clustering import cluster_order
from exporter.errors import ExportError

GROUPS = {
    "red": [
        "a red circle on grey",
        "one small red circle",
        "red circle near the corner",
        "a large red circle",
    ],
    "blue": ["a blue square on grey", "blue square with a border", "two blue squares", "the blue square"],
    "dog": ["a dog running on grass", "brown dog on the grass", "a dog sleeping on grass"],
}


def _block_similarity(sizes: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cross-modal similarity with high within-group and low between-group values, shuffled."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(len(sizes)), sizes)
    n = group.size
    sim = np.where(group[:, None] == group[None, :], 0.8, 0.1) + 0.05 * rng.random((n, n))
    perm = rng.permutation(n)
    return sim[np.ix_(perm, perm)], group[perm]


def test_recovers_separated_groups_and_labels_them():
    names = list(GROUPS)
    sizes = [len(GROUPS[k]) for k in names]
    sim, group = _block_similarity(sizes)
    counters = dict.fromkeys(names, 0)
    texts = []
    for g in group:
        texts.append(GROUPS[names[g]][counters[names[g]]])
        counters[names[g]] += 1

    order, clusters = cluster_order(sim, texts, n_clusters=3)
    assert sorted(order) == list(range(len(texts)))
    assert [c["start"] for c in clusters] == [
        0,
        clusters[0]["size"],
        clusters[0]["size"] + clusters[1]["size"],
    ]
    labels = {}
    for cluster in clusters:
        members = order[cluster["start"] : cluster["start"] + cluster["size"]]
        found = {int(group[i]) for i in members}
        assert len(found) == 1  # each cluster is exactly one planted group
        labels[names[found.pop()]] = cluster["label"]
    assert sorted(c["size"] for c in clusters) == sorted(sizes)
    assert labels["red"] == "red circle"
    assert labels["blue"] == "blue square"
    assert labels["dog"].startswith("grass") or labels["dog"].startswith("dog")
    assert "dog" in labels["dog"] and "grass" in labels["dog"]


def test_order_is_deterministic_and_clusters_cover_everything():
    sim, _ = _block_similarity([5, 5, 5, 5], seed=3)
    first = cluster_order(sim, None, n_clusters=4)
    assert first == cluster_order(sim.copy(), None, n_clusters=4)
    order, clusters = first
    assert sum(c["size"] for c in clusters) == 20
    assert [c["label"] for c in clusters] == ["cluster 1", "cluster 2", "cluster 3", "cluster 4"]


def test_n_clusters_clamped_and_tiny_n():
    sim, _ = _block_similarity([2, 1])
    order, clusters = cluster_order(sim, ["x y", "x y", "zz"], n_clusters=10)
    assert len(clusters) <= 3 and sum(c["size"] for c in clusters) == 3
    assert cluster_order(np.array([[1.0]]), ["a blue whale"], n_clusters=5) == (
        [0],
        [{"start": 0, "size": 1, "label": "blue whale"}],
    )


def test_stop_word_captions_fall_back_to_numbered_labels():
    sim, _ = _block_similarity([2, 2])
    _, clusters = cluster_order(sim, ["the a", "of the", "a", "an the"], n_clusters=2)
    assert [c["label"] for c in clusters] == ["cluster 1", "cluster 2"]


@pytest.mark.parametrize(
    ("sim", "texts", "kwargs", "message"),
    [
        (np.ones((3, 2)), None, {}, "square"),
        (np.ones((3, 3)), ["a", "b"], {}, "one caption per pair"),
        (np.ones((2, 2)), ["a", 3], {}, "strings"),
        (np.ones((2, 2)), None, {"n_clusters": 0}, "n_clusters"),
        (np.full((2, 2), np.nan), None, {}, "NaN"),
    ],
)
def test_bad_input(sim, texts, kwargs, message):
    with pytest.raises(ExportError, match=message):
        cluster_order(sim, texts, **kwargs)
