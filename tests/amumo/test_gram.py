"""Embeddings back from Gram matrices: precision-following tolerance and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.errors import ExportError
from exporter.gram import read_similarity_file, recover_embeddings, split_modalities


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_float64_gram_is_recovered_exactly_at_its_rank() -> None:
    x = _unit(np.random.default_rng(1), 40, 12)
    gram = x @ x.T
    recovery = recover_embeddings(gram, name="g")
    assert recovery.precision == "float64" and recovery.rank == 12
    assert recovery.reconstruction_error < 1e-12
    np.testing.assert_allclose(recovery.vectors @ recovery.vectors.T, gram, atol=1e-12)


def test_float32_rounded_gram_gets_a_wider_noise_floor() -> None:
    x = _unit(np.random.default_rng(2), 150, 300)  # full rank: the smallest eigenvalues sit near the noise
    gram = (x @ x.T).astype(np.float32)
    recovery = recover_embeddings(gram, name="g32")
    assert recovery.precision == "float32"
    assert 1e-6 < recovery.tolerance < 1e-4  # n·2^-24 scale, far above float64's
    assert recovery.reconstruction_error < 1e-5
    # Rounding noise alone pushes eigenvalues below zero: a float64 floor would refuse this matrix.
    rank_deficient = _unit(np.random.default_rng(3), 150, 20)
    noisy = (rank_deficient @ rank_deficient.T).astype(np.float32)
    assert np.linalg.eigvalsh(noisy.astype(np.float64))[0] < -1e-9
    recovered = recover_embeddings(noisy, name="noisy")
    assert recovered.rank == 20 and recovered.min_eigenvalue < 0


def test_rank_deficient_gram_keeps_only_real_directions() -> None:
    x = _unit(np.random.default_rng(4), 60, 3)
    recovery = recover_embeddings(x @ x.T, name="r3")
    assert recovery.rank == 3 and recovery.vectors.shape == (60, 3)


def test_not_psd_is_refused_with_one_line() -> None:
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(ExportError, match=r"^m: not positive semidefinite \(eigenvalue -0\.8") as info:
        recover_embeddings(bad, name="m")
    assert "\n" not in str(info.value)


def test_asymmetric_and_non_unit_diagonal_are_refused() -> None:
    x = _unit(np.random.default_rng(5), 10, 4)
    gram = x @ x.T
    skewed = gram.copy()
    skewed[0, 1] += 0.01
    with pytest.raises(ExportError, match=r"not symmetric \(S\[0,1\]"):
        recover_embeddings(skewed, name="m")
    with pytest.raises(ExportError, match=r"diagonal value 4 at row \d+ is not 1"):
        recover_embeddings(4 * gram, name="m")
    with pytest.raises(ExportError, match="must be square"):
        recover_embeddings(gram[:, :5], name="m")
    with_nan = gram.copy()
    with_nan[3, 2] = np.nan
    with pytest.raises(ExportError, match="row 3 holds NaN"):
        recover_embeddings(with_nan, name="m")


def test_files_roundtrip_and_bad_files(tmp_path) -> None:
    x = _unit(np.random.default_rng(6), 8, 3)
    gram = x @ x.T
    np.savetxt(tmp_path / "m.csv", gram, delimiter=",", fmt="%.18e")
    np.save(tmp_path / "m.npy", gram.astype(np.float32))
    assert np.array_equal(read_similarity_file(tmp_path / "m.csv"), gram)
    assert read_similarity_file(tmp_path / "m.npy").dtype == np.float32
    (tmp_path / "bad.csv").write_text("1,2\nx,y\n")
    with pytest.raises(ExportError, match=r"bad.csv: not a readable matrix"):
        read_similarity_file(tmp_path / "bad.csv")
    with pytest.raises(ExportError, match="similarity file not found"):
        read_similarity_file(tmp_path / "missing.npy")
    blocks = split_modalities(np.zeros((9, 2)), ("image", "text", "audio"), name="m")
    assert [b.shape for b in blocks.values()] == [(3, 2)] * 3
    with pytest.raises(ExportError, match="cannot be split into 2 modalities"):
        split_modalities(np.zeros((9, 2)), ("image", "text"), name="m")
