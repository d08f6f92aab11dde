"""Model specs -> encoders: open_clip, CyCLIP, CLOOB, pocket, precomputed embeddings."""

from exporter.models.base import EmbeddingModel, ModelInfo
from exporter.models.registry import MODEL_KINDS, list_model_kinds, resolve_model

__all__ = ["MODEL_KINDS", "EmbeddingModel", "ModelInfo", "list_model_kinds", "resolve_model"]
