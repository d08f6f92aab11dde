"""What every model spec resolves to: a description of the weights, its declared capabilities,
and the methods those capabilities promise.

The pipeline asks `info.capabilities`, never a model's type, family or attributes.
A new family declares what it can do on its ModelInfo and overrides the methods
of ModelBase that go with it (docs/ARCHITECTURE.md, "Add a model family").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from exporter.errors import ExportError


@dataclass(frozen=True)
class Capabilities:
    """What a model can do."""

    encode_images: bool = False  # encode_images(new images)
    encode_texts: bool = False  # encode_texts(new texts), e.g. zero-shot class prompts
    precomputed_vectors: bool = False  # precomputed_vectors(dataset): vectors computed elsewhere
    training_dynamics: bool = False  # training_dynamics(): snapshots and curves of its own training
    closed_vocabulary: bool = False  # its text encoder knows a fixed word list; other words are lost


# A two-tower contrastive model (CLIP and kin) with an open tokenizer.
TWO_TOWERS = Capabilities(encode_images=True, encode_texts=True)


@dataclass(frozen=True)
class TrainingDynamics:
    """A model's record of its own training (the pocket lab writes one per model).

    steps: (S,) snapshot steps; snapshots_image / snapshots_text: (S, N, D) raw
    encoder outputs of N display pairs at each step; curve: step, loss,
    centroid_distance, temperature, each (T,).
    """

    steps: np.ndarray
    snapshots_image: np.ndarray
    snapshots_text: np.ndarray
    curve: dict[str, np.ndarray]


@dataclass(frozen=True)
class ModelInfo:
    name: str  # the spec as written, e.g. "pocket:infonce"
    family: str  # clip | cyclip | cloob | siglip | precomputed | ...
    objective: str  # infonce | cyclip | infoloob | sigmoid | ...
    weights: str  # tag, checkpoint file name + short hash, or "random"
    logit_scale: float  # multiplier of cosine similarities in the loss (1/temperature)
    logit_bias: float | None  # SigLIP bias
    embed_dim: int
    trained: bool  # False for random weights
    description: str
    cache_key: str  # identifies weights + preprocessing for the embedding cache
    capabilities: Capabilities = TWO_TOWERS
    # With capabilities.closed_vocabulary (the pocket models' word tokenizer): which words of a
    # text it cannot read (they become <unk>); None: the tokenizer reads any text.
    unknown_words: Callable[[str], list[str]] | None = field(default=None, compare=False, repr=False)


@runtime_checkable
class EmbeddingModel(Protocol):
    """Every model offers all four methods; those its capabilities do not declare raise ExportError."""

    info: ModelInfo
    provenance: dict | None  # where a recovered model's vectors came from (its import's checks)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray: ...  # B x D, L2-normalised

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...  # B x D, L2-normalised

    def precomputed_vectors(self, dataset) -> dict[str, np.ndarray]: ...  # modality -> N x D

    def training_dynamics(self) -> TrainingDynamics: ...


class ModelBase:
    """Defaults for the methods a model's capabilities do not declare: one clear error each."""

    info: ModelInfo
    provenance: dict | None = None

    def _cannot(self, what: str) -> ExportError:
        return ExportError(f"model '{self.info.name}' cannot {what}; its capabilities do not declare it")

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        raise self._cannot("encode images")

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        raise self._cannot("encode texts")

    def precomputed_vectors(self, dataset) -> dict[str, np.ndarray]:
        raise self._cannot("serve precomputed vectors")

    def training_dynamics(self) -> TrainingDynamics:
        raise self._cannot("report training dynamics")


def make_cache_key(**parts: Any) -> str:
    """A stable hash of everything that changes the vectors (weights, preprocessing...)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]


def l2_normalise(vectors: np.ndarray, *, model: str) -> np.ndarray:
    """Float32 unit rows; NaN/inf or all-zero rows are a model problem, named as such."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise ExportError(f"model '{model}': expected a 2-D batch of embeddings, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ExportError(
            f"model '{model}': produced NaN or infinite embeddings; check its weights (a corrupt or half-trained checkpoint?)"
        )
    norms = np.linalg.norm(array.astype(np.float64), axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ExportError(
            f"model '{model}': produced an all-zero embedding, which has no direction; check its weights"
        )
    return (array / norms).astype(np.float32)
