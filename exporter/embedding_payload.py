"""embeddings.json: the figure sample's embeddings, int8 per dimension, for the browser to compute from.

A kN x kN similarity matrix grows as N^2 (133 MB at 5,000 pairs); the
embeddings it comes from grow as N. Each dimension d is quantised
symmetrically, q = round(x_d / s_d) with s_d = max |x_d| / 127, so the
browser recovers x_d ~ q * s_d and renormalises each row
(site/static/js/embedding-matrix.js). Rows are stacked modality-major in
items.json order, like the similarity matrix.
"""

from __future__ import annotations

import base64

import numpy as np

from exporter.contract import encode_array


def quantise(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 codes, float32 per-dimension scales) of an R x D float array."""
    values = np.asarray(rows, dtype=np.float64)
    peak = np.abs(values).max(axis=0)
    scales = np.where(peak > 0, peak / 127.0, 1.0)
    codes = np.clip(np.rint(values / scales), -127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


def embeddings_payload(model_name: str, dataset, blocks: list[np.ndarray]) -> dict:
    stacked = np.concatenate(blocks)
    codes, scales = quantise(stacked)
    return {
        "model": model_name,
        "dataset": dataset.name,
        "n": int(blocks[0].shape[0]),
        "modalities": list(dataset.modalities),
        "dims": int(stacked.shape[1]),
        "vectors": {
            "dtype": "i1",
            "shape": f"{codes.shape[0]},{codes.shape[1]}",
            "bdata": base64.b64encode(codes.tobytes()).decode("ascii"),
        },
        "scales": encode_array(scales, "f4"),
    }
