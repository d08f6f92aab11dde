"""A three-modality embeddings dataset (image, text, audio) is exported pair by pair:
metrics, the gap slider, the landscapes and the clusters cover every modality pair."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from exporter.analyses.modalities import close_all
from exporter.contract import decode_array
from tests.triplets import MODALITIES, N, export_triplets, triplet_blocks


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    return export_triplets(tmp_path_factory.mktemp("three"))


def _centroid_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)))


def test_metrics_cover_every_modality_pair(exported):
    out, blocks = exported
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["datasets"][0]["modalities"] == list(MODALITIES)
    metrics = manifest["results"][0]["metrics"]
    expected_names = {f"{a}-{b}" for a, b in combinations(MODALITIES, 2)}
    assert set(metrics["pairs"]) == expected_names
    for name in expected_names:
        a, b = name.split("-")
        assert metrics["pairs"][name]["centroid_distance"] == pytest.approx(
            _centroid_distance(blocks[a], blocks[b]), rel=1e-5
        )
    # The three gaps are built to differ, so a result that repeats one pair would fail.
    distances = sorted(metrics["pairs"][n]["centroid_distance"] for n in expected_names)
    assert distances[0] < distances[-1] - 0.1
    # A precomputed model's import record reaches the manifest, so prose can cite it.
    assert manifest["models"][0]["provenance"] == {"gap_published": 0.5, "alignment_status": "aligned"}
    # The top level stays the first pair (image-text), as for two modalities.
    assert metrics["centroid_distance"] == metrics["pairs"]["image-text"]["centroid_distance"]
    # Closing moves every modality: every pair's gap shrinks.
    for name in expected_names:
        closed = metrics["closed"]["pairs"][name]["centroid_distance"]
        assert closed < 0.5 * metrics["pairs"][name]["centroid_distance"]


def test_retrieval_covers_every_modality_pair(exported):
    """Top-k lists for every further pair, both ways, equal a brute-force ranking of that pair."""
    out, blocks = exported
    manifest = json.loads((out / "manifest.json").read_text())
    result = manifest["results"][0]
    payload = json.loads((out / result["files"]["retrieval"]).read_text())
    k = payload["k"]
    pairs = {tuple(p["modalities"]): p for p in payload["pairs"]}
    assert set(pairs) == {("image", "audio"), ("text", "audio")}
    for (a, b), entry in pairs.items():
        for direction, (query, gallery) in {"i2t": (a, b), "t2i": (b, a)}.items():
            scores = blocks[query] @ blocks[gallery].T
            expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            got = decode_array(entry[direction]["indices"]).reshape(N, k)
            assert np.array_equal(got, expected), (a, b, direction)
        assert entry["recall"]["i2t"] == result["metrics"]["pairs"][f"{a}-{b}"]["recall_i2t"]
        assert entry["recall"]["t2i"] == result["metrics"]["pairs"][f"{a}-{b}"]["recall_t2i"]


def test_gap_slider_closes_every_pair(exported):
    out, blocks = exported
    gap = json.loads((out / "results/m3/triplets/gap.json").read_text())
    assert [s["fraction"] for s in gap["steps"]] == [0.0, 0.5, 1.0]
    half = close_all([blocks[m].astype(np.float64) for m in MODALITIES], 0.5)
    # Data format 2: each step's matrix is its own file, named relative to the data folder.
    matrices = [
        decode_array(json.loads((out / step["matrix_file"]).read_text())["matrix"]) for step in gap["steps"]
    ]
    for matrix in matrices:
        assert matrix.shape == (3 * N, 3 * N)
    np.testing.assert_allclose(matrices[1][2 * N :, :N], half[2] @ half[0].T, atol=2.5 / 255)
    for name in ("image-text", "image-audio", "text-audio"):
        series = [s["pairs"][name]["centroid_distance"] for s in gap["steps"]]
        assert series[0] > series[1] > series[2]
    assert [p["modalities"] for p in gap["pairs"]] == [
        ["image", "text"],
        ["image", "audio"],
        ["text", "audio"],
    ]
    for entry in gap["pairs"]:
        a, b = entry["modalities"]
        assert entry["gap_vector_norm"] == pytest.approx(_centroid_distance(blocks[a], blocks[b]), rel=1e-5)
        assert len(entry["landscape"]["loss"]) == len(entry["landscape"]["delta"])


def test_projection_and_clusters_use_all_modalities(exported):
    out, _ = exported
    projections = json.loads((out / "results/m3/triplets/projections.json").read_text())
    for variant in ("original", "closed"):
        assert decode_array(projections["points"]["pca"][variant]).shape == (3 * N, 2)
    similarity = json.loads((out / "results/m3/triplets/similarity.json").read_text())
    assert sorted(similarity["order"]) == list(range(N))
    assert sum(c["size"] for c in similarity["clusters"]) == N


def test_close_all_equals_close_gap_for_two_modalities():
    from exporter.analyses.gap_shift import close_gap

    blocks = triplet_blocks()
    image, text = blocks["image"], blocks["text"]
    for fraction in (0.3, 1.0):
        moved = close_all([image, text], fraction)
        expected = close_gap(image, text, fraction)
        np.testing.assert_allclose(moved[0], expected[0], atol=1e-12)
        np.testing.assert_allclose(moved[1], expected[1], atol=1e-12)


def test_items_show_each_modality_as_itself(exported):
    out, _ = exported
    items = json.loads((out / "datasets/triplets/items.json").read_text())["items"]
    first = items[0]
    assert first["image"].startswith("thumbs/")
    assert first["extra"] == {"credit": "Frame 0 by a test author, CC BY 2.0"}  # no local paths leak
    audio = first["media"]["audio"]
    assert audio["text"] == "AudioSet clip 0"
    assert audio["link"] == "https://www.youtube.com/watch?v=test0"
    assert (out / "datasets/triplets" / audio["image"]).is_file()
    # Each tone has its own pitch, so each spectrogram thumbnail differs.
    assert len({item["media"]["audio"]["image"] for item in items}) == N


def test_media_refuses_a_link_that_is_not_http(tmp_path):
    from exporter.errors import ExportError
    from exporter.media import item_media

    with pytest.raises(ExportError, match="audio_link.*http"):
        item_media("x", {"audio_link": "javascript:alert(1)"}, MODALITIES, None, tmp_path, 64)
