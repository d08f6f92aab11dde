from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from exporter.errors import ExportError
from exporter.models import resolve_model

registry = pytest.importorskip("exporter.pocket.registry")


@pytest.fixture()
def tiny_pocket(monkeypatch: pytest.MonkeyPatch) -> str:
    """The registered InfoNCE spec, shrunk so that training takes a moment."""
    spec = dataclasses.replace(
        registry.POCKET_MODELS["infonce"],
        steps=3,
        batch_size=8,
        train_pool=32,
        display_n=4,
        snapshots=2,
        curve_every=1,
        warmup=1,
        vision_layers=1,
        text_layers=1,
        threads=1,
    )
    monkeypatch.setitem(registry.POCKET_MODELS, "tiny-test", spec)
    return "tiny-test"


def test_pocket_model_resolves_and_encodes(tiny_pocket: str, tmp_path: Path) -> None:
    from exporter.pocket.scenes import display_pairs

    model = resolve_model(f"pocket:{tiny_pocket}", device="cpu", cache_dir=tmp_path)
    scenes = display_pairs(3)
    image = model.encode_images([s.image for s in scenes])
    text = model.encode_texts([s.caption for s in scenes])
    assert image.shape == text.shape == (3, model.info.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1.0, atol=1e-5)
    assert model.info.trained and model.info.family == "clip" and model.info.logit_scale > 0
    assert model.info.capabilities.training_dynamics and model.info.capabilities.closed_vocabulary
    assert not model.info.capabilities.precomputed_vectors
    dynamics = model.training_dynamics()
    assert dynamics.snapshots_image.shape[0] == len(dynamics.steps)
    assert dynamics.snapshots_image.shape == dynamics.snapshots_text.shape
    assert len(dynamics.curve["step"]) == len(dynamics.curve["loss"]) > 0
    again = resolve_model(f"pocket:{tiny_pocket}", device="cpu", cache_dir=tmp_path)
    assert again.info.cache_key == model.info.cache_key


def test_unknown_pocket_name(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown pocket model 'infonse'.*did you mean 'pocket:infonce'"):
        resolve_model("pocket:infonse", device="cpu", cache_dir=tmp_path)
