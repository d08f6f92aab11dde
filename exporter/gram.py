"""Embeddings back from a cosine-similarity matrix (a Gram matrix of unit vectors).

S = V diag(λ) Vᵀ; keeping the eigenvalues above a tolerance, X = V·sqrt(λ) has
X Xᵀ ≈ S: the stacked embeddings up to an orthogonal transform, which every
analysis of the exporter is invariant to (centroids, cosines, losses, recall,
PCA up to sign, UMAP/t-SNE on cosines, gap shifting). The true embedding
dimension is lost; the rank kept is at most the number of rows.

The tolerance follows the precision of the values: a matrix whose every value
is exactly a float32 carries rounding noise of up to n·u32 in its eigenvalues
(u32 = 2^-24; ‖E‖₂ ≤ n·max|Eᵢⱼ|), one written in float64 only the eigensolver's
own error (n·u64·λmax). Eigenvalues below −tolerance mean the matrix is not a
Gram matrix at all, which is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exporter.errors import ExportError

U32 = 2.0**-24  # unit roundoff of float32
U64 = 2.0**-53  # unit roundoff of float64
SAFETY = 2.0  # margin over the rounding bound
# Beyond float32 rounding of values computed in float32: |Sᵢᵢ − 1| or |Sᵢⱼ − Sⱼᵢ| above
# this is not a cosine matrix of unit embeddings.
STRUCTURE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Recovery:
    vectors: np.ndarray  # kN x rank, float64; rows X with X Xᵀ ≈ S
    rank: int
    precision: str  # "float32" | "float64": what the values were written in
    tolerance: float  # eigenvalues at or below it were dropped as noise
    min_eigenvalue: float
    reconstruction_error: float  # max |X Xᵀ − S|


def value_precision(matrix: np.ndarray) -> str:
    """'float32' when every value survives a round trip through float32 unchanged."""
    values = np.asarray(matrix, dtype=np.float64)
    return "float32" if np.array_equal(values.astype(np.float32).astype(np.float64), values) else "float64"


def noise_tolerance(matrix: np.ndarray, lambda_max: float, precision: str) -> float:
    n = matrix.shape[0]
    scale = float(np.max(np.abs(matrix)))
    data_noise = n * (U32 if precision == "float32" else U64) * scale
    solver_noise = n * U64 * max(lambda_max, 1.0)
    return SAFETY * (data_noise + solver_noise)


def check_cosine_matrix(matrix: np.ndarray, *, name: str) -> np.ndarray:
    """Square, finite, symmetric, unit diagonal; returns it as float64. One-line errors name `name`."""
    array = np.asarray(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise ExportError(f"{name}: a similarity matrix must be square, got shape {array.shape}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise ExportError(f"{name}: row {row} holds NaN or infinite values; recompute the similarities")
    asymmetry = float(np.max(np.abs(array - array.T)))
    if asymmetry > STRUCTURE_TOLERANCE:
        i, j = np.unravel_index(int(np.argmax(np.abs(array - array.T))), array.shape)
        raise ExportError(
            f"{name}: not symmetric (S[{i},{j}] − S[{j},{i}] = {array[i, j] - array[j, i]:.3g}); "
            "a cosine-similarity matrix of stacked embeddings is symmetric"
        )
    diagonal = float(np.max(np.abs(np.diag(array) - 1.0)))
    if diagonal > STRUCTURE_TOLERANCE:
        row = int(np.argmax(np.abs(np.diag(array) - 1.0)))
        raise ExportError(
            f"{name}: diagonal value {array[row, row]:.6g} at row {row} is not 1; "
            "give cosine similarities of unit embeddings, not raw dot products or logits"
        )
    return array


def recover_embeddings(matrix: np.ndarray, *, name: str) -> Recovery:
    """Embeddings (up to rotation) whose Gram matrix is `matrix`; refuses what is not one."""
    precision = value_precision(np.asarray(matrix, dtype=np.float64))
    array = check_cosine_matrix(matrix, name=name)
    # Symmetrise the residual asymmetry of float rounding before the symmetric solver.
    eigenvalues, eigenvectors = np.linalg.eigh((array + array.T) / 2.0)
    tolerance = noise_tolerance(array, float(eigenvalues[-1]), precision)
    lowest = float(eigenvalues[0])
    if lowest < -tolerance:
        raise ExportError(
            f"{name}: not positive semidefinite (eigenvalue {lowest:.3g} below the {precision} noise floor "
            f"−{tolerance:.2g}); it is not a Gram matrix of embeddings"
        )
    keep = eigenvalues > tolerance
    if not np.any(keep):
        raise ExportError(f"{name}: every eigenvalue is at the noise floor; the matrix holds no embeddings")
    # Largest first, so a truncation keeps the leading directions.
    order = np.argsort(eigenvalues[keep])[::-1]
    vectors = eigenvectors[:, keep][:, order] * np.sqrt(eigenvalues[keep][order])
    error = float(np.max(np.abs(vectors @ vectors.T - array)))
    return Recovery(
        vectors=vectors,
        rank=int(keep.sum()),
        precision=precision,
        tolerance=tolerance,
        min_eigenvalue=lowest,
        reconstruction_error=error,
    )


def read_similarity_file(path: Path) -> np.ndarray:
    """A matrix from .npy or a numpy.savetxt CSV (comma or whitespace separated, no header)."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: similarity file not found; give a .npy or .csv kN x kN matrix")
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        elif path.suffix.lower() in (".csv", ".txt"):
            with open(path, encoding="utf-8") as handle:
                first = handle.readline()
            array = np.loadtxt(path, delimiter="," if "," in first else None, ndmin=2)
        else:
            raise ExportError(f"{path}: unsupported similarity file type; use .npy or .csv")
    except (OSError, ValueError) as error:
        raise ExportError(
            f"{path}: not a readable matrix ({str(error).splitlines()[0]}); write it with numpy.save or numpy.savetxt"
        ) from error
    if not np.issubdtype(array.dtype, np.number):
        raise ExportError(f"{path}: holds {array.dtype} values, not numbers")
    return array


def split_modalities(vectors: np.ndarray, modalities: tuple[str, ...], *, name: str) -> dict[str, np.ndarray]:
    """Stacked modality-major rows -> one N x rank block per modality."""
    k = len(modalities)
    if vectors.shape[0] % k:
        raise ExportError(
            f"{name}: {vectors.shape[0]} rows cannot be split into {k} modalities ({', '.join(modalities)}) of equal size"
        )
    n = vectors.shape[0] // k
    return {modality: vectors[i * n : (i + 1) * n] for i, modality in enumerate(modalities)}
