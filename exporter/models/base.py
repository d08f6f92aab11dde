"""What every model spec resolves to: encoders plus a description of the weights."""

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
    # A closed vocabulary (the pocket models' word tokenizer) declares which words of a text it
    # cannot read (they become <unk>); None: the tokenizer reads any text.
    unknown_words: Callable[[str], list[str]] | None = field(default=None, compare=False, repr=False)

    @property
    def temperature(self) -> float:
        return 1.0 / self.logit_scale


@runtime_checkable
class EmbeddingModel(Protocol):
    info: ModelInfo

    def encode_images(self, images: list[Image.Image]) -> np.ndarray: ...

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...


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
