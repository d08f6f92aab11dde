"""Declared capabilities decide what the pipeline asks of a model; undeclared methods fail in one line."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.errors import ExportError
from exporter.models.base import Capabilities, EmbeddingModel, ModelBase, ModelInfo
from exporter.models.registry import MODEL_KINDS


def _info(capabilities: Capabilities) -> ModelInfo:
    return ModelInfo(
        name="test:model",
        family="clip",
        objective="infonce",
        weights="test",
        logit_scale=10.0,
        logit_bias=None,
        embed_dim=3,
        trained=True,
        description="",
        cache_key="k",
        capabilities=capabilities,
    )


class ImagesOnly(ModelBase):
    def __init__(self):
        self.info = _info(Capabilities(encode_images=True))

    def encode_images(self, images):
        return np.eye(len(images), 3, dtype=np.float32)


def test_undeclared_methods_raise_one_line_naming_the_model_and_capability() -> None:
    model = ImagesOnly()
    assert isinstance(model, EmbeddingModel)
    assert model.encode_images([None, None]).shape == (2, 3)
    for call, what in (
        (lambda: model.encode_texts(["a"]), "encode texts"),
        (lambda: model.precomputed_vectors(None), "serve precomputed vectors"),
        (lambda: model.training_dynamics(), "report training dynamics"),
    ):
        with pytest.raises(ExportError, match=f"model 'test:model' cannot {what}") as error:
            call()
        assert "\n" not in str(error.value)


def test_registry_holds_loader_callables() -> None:
    for prefix, kind in MODEL_KINDS.items():
        assert callable(kind.load), prefix
        assert kind.pattern.startswith(f"{prefix}:")


def test_embed_dataset_refuses_a_modality_the_model_cannot_encode(tmp_path) -> None:
    from exporter.datasets.base import PairDataset, PairItem
    from exporter.embed import embed_dataset

    item = PairItem(id="a", text="a cat", image=None, image_key="none")
    dataset = PairDataset(name="d", kind="pairs", description="", items=[item])
    with pytest.raises(ExportError, match="modality 'text' has no encoder in model 'test:model'"):
        embed_dataset(ImagesOnly(), dataset, cache_dir=tmp_path, progress=False)
