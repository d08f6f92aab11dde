"""embeddings.json: the figure sample's embeddings, int8 per dimension, for the browser to compute from.

A kN x kN similarity matrix grows as N^2 (133 MB at 5,000 pairs); the
embeddings it comes from grow as N. Each dimension d is quantised
symmetrically, q = round(x_d / s_d) with s_d = max |x_d| / 127, so the
browser recovers x_d ~ q * s_d and renormalises each row
(site/static/js/embedding-matrix.js). Rows are stacked modality-major in
items.json order, like the similarity matrix.

Above `embeddings_above` figure pairs (config.py) a result ships this file
instead of the matrices (`write_embedding_result`): similarity.json keeps its
cluster order and gains the matrix's value range, gap.json keeps every step's
measures and range but names no step file, retrieval.json keeps k and recall
and the browser ranks on demand. The gap slider's steps are the closing shift
of analyses.modalities.close_all (for two modalities exactly
gap_shift.close_gap): modality m moves by -fraction * offsets[m] and each row
is renormalised; `offsets` (c_m minus the mean centroid, from the unquantised
unit rows) ship with the codes so the browser applies the very same shift.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from exporter.analyses import clustering, modalities
from exporter.analyses._checks import normalise_rows
from exporter.contract import encode_array, write_json_atomic

_RANGE_ROWS = 2048  # rows of the stacked matrix per block when measuring its range


def ships_embeddings(pairs: int, options) -> bool:
    """Whether a result with this many figure pairs ships embeddings.json instead of matrices."""
    return pairs > options.embeddings_above


def quantise(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 codes, float32 per-dimension scales) of an R x D float array."""
    values = np.asarray(rows, dtype=np.float64)
    peak = np.abs(values).max(axis=0)
    scales = np.where(peak > 0, peak / 127.0, 1.0)
    codes = np.clip(np.rint(values / scales), -127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


def embeddings_payload(model_name: str, dataset, blocks: list[np.ndarray]) -> dict:
    units = [normalise_rows(np.asarray(b, dtype=np.float64), "embeddings") for b in blocks]
    stacked = np.concatenate(units)
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
        # The gap slider's direction per modality (see the module docstring).
        "offsets": encode_array(np.stack(modalities.centroid_offsets(units)).astype(np.float32), "f4"),
    }


def similarity_range(blocks: list[np.ndarray]) -> list[float]:
    """[min, max] of the stacked cosine matrix (analyses.similarity.stacked_similarity), block by block."""
    stacked = np.concatenate([normalise_rows(np.asarray(b, dtype=np.float64), "embeddings") for b in blocks])
    lo, hi = 1.0, 1.0  # the diagonal is 1
    for start in range(0, stacked.shape[0], _RANGE_ROWS):
        part = stacked[start : start + _RANGE_ROWS] @ stacked.T
        rows = np.arange(part.shape[0])
        part[rows, start + rows] = 1.0
        lo, hi = min(lo, float(part.min())), max(hi, float(part.max()))
    return [max(-1.0, lo), min(1.0, hi)]


def write_embedding_result(folder: Path, rel: str, model_name: str, dataset, blocks, n_clusters: int) -> dict:
    """embeddings.json and a matrix-free similarity.json (cluster order, range); returns the files written."""
    folder = Path(folder)
    n = blocks[0].shape[0]
    units = [normalise_rows(np.asarray(b, dtype=np.float64), "embeddings") for b in blocks]
    k = len(units)
    cross = [units[a] @ units[b].T for a in range(k) for b in range(a + 1, k)]  # N x N each: the sample
    order, clusters = clustering.cluster_order(
        cross[0] if k == 2 else np.mean(cross, axis=0),
        [item.text for item in dataset.items],
        n_clusters=n_clusters,
    )
    del cross
    write_json_atomic(folder / "embeddings.json", embeddings_payload(model_name, dataset, blocks), schema="embeddings")
    similarity = {
        "model": model_name,
        "dataset": dataset.name,
        "n": int(n),
        "modalities": list(dataset.modalities),
        "embeddings": f"{rel}/embeddings.json",
        "range": similarity_range(units),
        "order": [int(i) for i in order],
        "clusters": [
            {"start": int(c["start"]), "size": int(c["size"]), "label": str(c["label"])} for c in clusters
        ],
    }
    write_json_atomic(folder / "similarity.json", similarity, schema="similarity")
    return {"similarity": f"{rel}/similarity.json", "embeddings": f"{rel}/embeddings.json"}


def without_lists(retrieval: dict) -> dict:
    """retrieval.json of an embeddings result: k and recall (each further pair's too); the browser ranks on demand."""
    out = {"k": retrieval["k"], "recall": retrieval["recall"]}
    if "pairs" in retrieval:
        out["pairs"] = [{"modalities": p["modalities"], "recall": p["recall"]} for p in retrieval["pairs"]]
    return out
