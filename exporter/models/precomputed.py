"""`embeddings:<folder>` — a model whose encoders ran elsewhere: its vectors are files.

<folder> is one model folder of an `embeddings` dataset: <modality>.npy files,
or a similarity.npy/.csv from which the embeddings are recovered, and an
optional model.json (name, temperature or logit_scale, logit_bias, family,
objective, description, trained, modalities).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from exporter.datasets.base import PairDataset, sha256_file
from exporter.datasets.embeddings import load_vectors, order_modalities, read_model_json, similarity_file
from exporter.errors import ExportError
from exporter.models.base import Capabilities, ModelBase, ModelInfo, l2_normalise
from exporter.seeds import DEFAULT_SEED

# CLIP's learned scale saturates at 100 (temperature 0.01); used when model.json is silent.
DEFAULT_LOGIT_SCALE = 100.0


class PrecomputedModel(ModelBase):
    """Vectors computed elsewhere: no encoder, so no new inputs (e.g. zero-shot prompts)."""

    def __init__(self, folder: Path, vectors: dict[str, np.ndarray], info: ModelInfo):
        self.folder = folder
        self.vectors = vectors
        self.modalities = order_modalities(set(vectors))
        self.info = info
        self.provenance: dict | None = None

    def precomputed_vectors(self, dataset: PairDataset) -> dict[str, np.ndarray]:
        """The dataset's modalities, L2-normalised; rows must line up with its pairs."""
        result: dict[str, np.ndarray] = {}
        for modality in dataset.modalities:
            if modality not in self.vectors:
                raise ExportError(
                    f"model '{self.info.name}': no {modality}.npy in {self.folder} for dataset '{dataset.name}'"
                )
            array = self.vectors[modality]
            if array.shape[0] != len(dataset.items):
                raise ExportError(
                    f"model '{self.info.name}': {modality}.npy has {array.shape[0]} rows but dataset "
                    f"'{dataset.name}' has {len(dataset.items)} pairs; use the dataset the vectors were computed for"
                )
            result[modality] = l2_normalise(array, model=self.info.name)
        return result


def _float_field(meta: dict, key: str, where: Path) -> float | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ExportError(f"{where}: '{key}' must be a finite number, not {value!r}")
    return float(value)


def load_precomputed(
    spec: str, *, device: str = "auto", cache_dir: Path | None = None, seed: int = DEFAULT_SEED
) -> PrecomputedModel:
    folder = Path(spec.partition(":")[2]).expanduser()
    if not folder.is_dir():
        raise ExportError(
            f"model '{spec}': folder {folder} not found; give the folder holding <modality>.npy files"
        )
    vectors = load_vectors(folder)
    meta = read_model_json(folder)
    meta_path = folder / "model.json"
    temperature = _float_field(meta, "temperature", meta_path)
    logit_scale = _float_field(meta, "logit_scale", meta_path)
    if (
        temperature is not None
        and logit_scale is not None
        and not math.isclose(logit_scale, 1 / temperature, rel_tol=1e-3)
    ):
        raise ExportError(
            f"{meta_path}: temperature {temperature} and logit_scale {logit_scale} disagree; give one"
        )
    if temperature is not None:
        if temperature <= 0:
            raise ExportError(f"{meta_path}: temperature must be positive, got {temperature}")
        logit_scale = 1.0 / temperature
    assumed = logit_scale is None
    if assumed:
        logit_scale = DEFAULT_LOGIT_SCALE
    if logit_scale <= 0:
        raise ExportError(f"{meta_path}: logit_scale must be positive, got {logit_scale}")
    digest = hashlib.sha256()
    gram_file = similarity_file(folder)
    for path in [gram_file] if gram_file else sorted(folder.glob("*.npy")):
        digest.update(f"{path.name}:{sha256_file(path)}\n".encode())
    description = str(
        meta.get("description") or f"precomputed {', '.join(order_modalities(set(vectors)))} vectors"
    )
    if gram_file is not None and not meta.get("description"):
        description += f" recovered from {gram_file.name} (rank {next(iter(vectors.values())).shape[1]})"
    if assumed:
        description += f" (no temperature in model.json: assumed {1 / DEFAULT_LOGIT_SCALE:g})"
    info = ModelInfo(
        name=spec,
        family=str(meta.get("family", "precomputed")),
        objective=str(meta.get("objective", "unknown")),
        weights=str(meta.get("name", folder.name)),
        logit_scale=float(logit_scale),
        logit_bias=_float_field(meta, "logit_bias", meta_path),
        embed_dim=int(next(iter(vectors.values())).shape[1]),
        trained=bool(meta.get("trained", True)),
        description=description,
        cache_key=digest.hexdigest()[:32],
        capabilities=Capabilities(precomputed_vectors=True),
    )
    model = PrecomputedModel(folder, vectors, info)
    # Where the vectors came from (exporter/amumo writes the import's checks here); goes to the manifest.
    provenance = meta.get("import")
    model.provenance = provenance if isinstance(provenance, dict) else None
    return model
