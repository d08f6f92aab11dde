import numpy as np
import pytest

from exporter.analyses.retrieval import recall_at_k, top_k
from exporter.analyses.similarity import stacked_similarity
from exporter.analyses.zeroshot import accuracy, classify
from exporter.errors import ExportError

from ._synthetic import circle_pairs, unit_rows

# Gallery: the four axes of R^4.
GALLERY = np.eye(4)


def test_top_k_known_neighbours_best_first():
    query = unit_rows(np.array([[1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.2, 1.0]]))
    indices, scores = top_k(query, GALLERY, 3)
    assert indices.tolist() == [[0, 1, 2], [3, 2, 0]]
    norm0 = np.sqrt(1.25)
    assert scores[0].tolist() == pytest.approx([1 / norm0, 0.5 / norm0, 0.0])
    assert indices.dtype.kind == "i" and scores.shape == (2, 3)


def test_top_k_ties_keep_lower_index_first():
    query = unit_rows(np.array([[0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]))
    indices, _ = top_k(query, GALLERY, 4)
    assert indices[0].tolist() == [1, 3, 0, 2]
    assert indices[1].tolist() == [0, 1, 2, 3]


def test_top_k_lists_repeated_gallery_rows_in_index_order():
    # General float rows, so a matrix product may round two equal columns differently by position.
    rng = np.random.default_rng(3)
    gallery = unit_rows(rng.normal(size=(97, 197)))
    copies = [(5, 71), (12, 13), (40, 96)]
    for a, b in copies:
        gallery[b] = gallery[a]
    queries = unit_rows(gallery[[a for a, _ in copies]] + 0.01 * rng.normal(size=(3, 197)))
    indices, scores = top_k(queries, gallery, 2)
    assert indices.tolist() == [[a, b] for a, b in copies]  # the copy ties and the lower index lists first
    assert (scores[:, 0] == scores[:, 1]).all()


def test_top_k_clamps_k_to_gallery_and_rejects_bad_k():
    indices, scores = top_k(GALLERY, GALLERY, 10)
    assert indices.shape == (4, 4) and indices[:, 0].tolist() == [0, 1, 2, 3]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ExportError, match="k must be"):
            top_k(GALLERY, GALLERY, bad)
    with pytest.raises(ExportError, match="same dimension"):
        top_k(np.ones((2, 3)), GALLERY, 1)


def test_recall_counts_rank_of_the_match():
    # Texts are the axes; image i points mostly at text (i+1) % 4 but also at text i.
    image = unit_rows(np.array([[0.5, 1, 0, 0], [0, 0.5, 1, 0], [0, 0, 0.5, 1], [1, 0, 0, 0.5]]))
    recall = recall_at_k(image, GALLERY, ks=(1, 2, 5))
    assert recall["i2t"] == {"r1": 0.0, "r2": 1.0, "r5": 1.0}
    # From text j: image j scores 0.5/n, image j-1 scores 1/n -> also rank 2.
    assert recall["t2i"] == {"r1": 0.0, "r2": 1.0, "r5": 1.0}


def test_recall_ties_follow_top_k_order():
    # All texts identical: image i finds its text at rank i (ties broken by index).
    text = np.ones((4, 2))
    image = np.ones((4, 2))
    recall = recall_at_k(image, text, ks=(1, 2, 4))
    assert recall["i2t"] == {"r1": 0.25, "r2": 0.5, "r4": 1.0}
    indices, _ = top_k(image, text, 4)
    assert indices[3].tolist() == [0, 1, 2, 3]


def test_recall_rejects_bad_ks():
    with pytest.raises(ExportError, match="ks"):
        recall_at_k(GALLERY, GALLERY, ks=(0,))
    with pytest.raises(ExportError, match="ks"):
        recall_at_k(GALLERY, GALLERY, ks=())


def test_classify_softmax_at_scale():
    image = np.array([[1.0, 0.0], [0.6, 0.8]])
    classes = np.array([[1.0, 0.0], [0.0, 1.0]])
    probs = classify(image, classes, logit_scale=10.0)
    e = np.exp(10.0)
    assert probs[0].tolist() == pytest.approx([e / (e + 1), 1 / (e + 1)])
    assert probs[1, 1] == pytest.approx(np.exp(8.0) / (np.exp(8.0) + np.exp(6.0)))
    assert probs.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert accuracy(probs, np.array([0, 1])) == 1.0
    assert accuracy(probs, np.array([1, 1])) == 0.5


def test_classify_and_accuracy_validation():
    with pytest.raises(ExportError, match="same dimension"):
        classify(np.eye(2), np.eye(3), logit_scale=1.0)
    probs = np.full((2, 3), 1 / 3)
    with pytest.raises(ExportError, match="one entry per row"):
        accuracy(probs, np.array([0]))
    with pytest.raises(ExportError, match="class indices"):
        accuracy(probs, np.array([0, 3]))
    with pytest.raises(ExportError, match="integer"):
        accuracy(probs, np.array([0.0, 1.0]))


def test_stacked_similarity_quadrants():
    image, text, angles, a = circle_pairs(6, 0.6)
    matrix = stacked_similarity([image * 2.0, text])  # scaled rows are renormalised
    assert matrix.shape == (12, 12)
    assert np.allclose(matrix, matrix.T)
    assert np.allclose(np.diag(matrix), 1.0)
    cross = matrix[:6, 6:]
    expected = a * a * np.cos(angles[:, None] - angles[None, :]) - 0.36
    assert cross == pytest.approx(expected)
    assert matrix[6:, 6:] == pytest.approx(
        a * a * np.cos(angles[:, None] - angles[None, :]) + 0.36
    )


def test_stacked_similarity_three_modalities_and_validation():
    rng = np.random.default_rng(0)
    blocks = [rng.normal(size=(5, 3)) for _ in range(3)]
    matrix = stacked_similarity(blocks)
    assert matrix.shape == (15, 15)
    assert matrix.max() <= 1.0 and matrix.min() >= -1.0
    with pytest.raises(ExportError, match="modality 1"):
        stacked_similarity([np.ones((5, 3)), np.ones((4, 3))])
    with pytest.raises(ExportError, match="non-empty list"):
        stacked_similarity([])
    with pytest.raises(ExportError, match="NaN"):
        stacked_similarity([np.array([[np.inf, 1.0]])])
