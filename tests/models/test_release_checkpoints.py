"""CyCLIP and CLOOB checkpoints written from random weights in the released layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from exporter.errors import ExportError
from exporter.models import resolve_model

TINY_RN = {
    "embed_dim": 32,
    "vision_cfg": {"layers": (1, 1, 1, 1), "width": 16, "image_size": 64},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1},
}


@pytest.fixture(scope="module")
def source_model() -> torch.nn.Module:
    """A small OpenAI-style CLIP (modified ResNet + QuickGELU text transformer), random weights."""
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(11)
    model = CLIP(
        TINY_RN["embed_dim"],
        vision_cfg=CLIPVisionCfg(**TINY_RN["vision_cfg"]),
        text_cfg=CLIPTextCfg(**TINY_RN["text_cfg"]),
        quick_gelu=True,
    )
    with torch.no_grad():
        # Non-trivial batch-norm statistics and final-block weights, so a mis-mapped tensor shows.
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
        model.logit_scale.fill_(float(np.log(30.0)))
    return model.eval()


def _expected(
    model: torch.nn.Module, images: list[Image.Image], texts: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    import open_clip

    preprocess = open_clip.image_transform(64, is_train=False)
    tokens = open_clip.tokenizer.SimpleTokenizer(context_length=77)(texts)
    with torch.no_grad():
        image = model.encode_image(torch.stack([preprocess(i) for i in images]))
        text = model.encode_text(tokens)
    return (
        torch.nn.functional.normalize(image, dim=-1).numpy(),
        torch.nn.functional.normalize(text, dim=-1).numpy(),
    )


def _inputs() -> tuple[list[Image.Image], list[str]]:
    rng = np.random.default_rng(5)
    images = [Image.fromarray(rng.integers(0, 255, (70, 90, 3), dtype=np.uint8)) for _ in range(3)]
    return images, ["a photo of a dog", "a red car on a street", "two cats"]


def _cyclip_layout(model: torch.nn.Module) -> dict:
    # CyCLIP's training script saves the DDP-wrapped model: OpenAI names under 'module.'.
    state = {f"module.{k}": v.clone() for k, v in model.state_dict().items()}
    return {
        "epoch": 64,
        "name": "cyclip",
        "state_dict": state,
        "optimizer": {"state": {}, "param_groups": []},
    }


def _cloob_layout(model: torch.nn.Module) -> dict:
    # CLOOB's CLIPGeneral keeps the text encoder under 'transformer.' and the temperature as logit_inv_tau.
    state = {}
    for key, value in model.state_dict().items():
        if key == "logit_scale":
            state["module.logit_inv_tau"] = value.clone()
        elif key.startswith("visual."):
            state[f"module.{key}"] = value.clone()
        else:
            state[f"module.transformer.{key}"] = value.clone()
    state["module.logit_scale_hopfield"] = torch.tensor(np.log(14.3))
    return {"epoch": 28, "model_config_file": "RN50.json", "state_dict": state}


def test_cyclip_checkpoint_matches_source(source_model, tmp_path: Path) -> None:
    path = tmp_path / "cyclip.pt"
    torch.save(_cyclip_layout(source_model), path)
    model = resolve_model(f"cyclip:{path}", device="cpu", cache_dir=tmp_path)
    images, texts = _inputs()
    want_image, want_text = _expected(source_model, images, texts)
    np.testing.assert_allclose(model.encode_images(images), want_image, atol=1e-5)
    np.testing.assert_allclose(model.encode_texts(texts), want_text, atol=1e-5)
    assert model.info.family == "cyclip" and model.info.objective == "cyclip"
    assert model.info.logit_scale == pytest.approx(30.0, rel=1e-5)
    assert model.info.embed_dim == 32 and model.info.trained
    assert "ResNet[1, 1, 1, 1]" in model.info.description


def test_cloob_checkpoint_matches_source(source_model, tmp_path: Path) -> None:
    path = tmp_path / "cloob_rn50_yfcc_epoch_28.pt"
    torch.save(_cloob_layout(source_model), path)
    model = resolve_model(f"cloob:{path}", device="cpu", cache_dir=tmp_path)
    images, texts = _inputs()
    want_image, want_text = _expected(source_model, images, texts)
    np.testing.assert_allclose(model.encode_images(images), want_image, atol=1e-5)
    np.testing.assert_allclose(model.encode_texts(texts), want_text, atol=1e-5)
    assert model.info.family == "cloob" and model.info.objective == "infoloob"
    assert model.info.logit_scale == pytest.approx(30.0, rel=1e-5)  # exp(logit_inv_tau)
    assert "configured as RN50" in model.info.description


def test_rn50_shapes_are_recognised() -> None:
    # Shapes only (meta tensors): RN50's full state dict without allocating 100 M weights.
    import open_clip
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    from exporter.models.openai_layout import describe_architecture, infer_clip_config

    reference = open_clip.get_model_config("RN50")
    with torch.device("meta"):
        model = CLIP(
            reference["embed_dim"],
            vision_cfg=CLIPVisionCfg(**reference["vision_cfg"]),
            text_cfg=CLIPTextCfg(**reference["text_cfg"]),
        )
    state = model.state_dict()
    config = infer_clip_config(state, "cyclip:rn50")
    assert config["vision_cfg"]["layers"] == (3, 4, 6, 3) and config["embed_dim"] == 1024
    assert describe_architecture(config) == "RN50"


def test_wrong_kind_is_named(source_model, tmp_path: Path) -> None:
    path = tmp_path / "cloob.pt"
    torch.save(_cloob_layout(source_model), path)
    with pytest.raises(ExportError, match="use cloob:<path>"):
        resolve_model(f"cyclip:{path}", device="cpu", cache_dir=tmp_path)
    other = tmp_path / "cyclip.pt"
    torch.save(_cyclip_layout(source_model), other)
    with pytest.raises(ExportError, match="use cyclip:<path>"):
        resolve_model(f"cloob:{other}", device="cpu", cache_dir=tmp_path)


def test_truncated_or_missing_checkpoint(source_model, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="missing.pt not found"):
        resolve_model(f"cyclip:{tmp_path / 'missing.pt'}", device="cpu", cache_dir=tmp_path)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"\x80\x02garbage")
    with pytest.raises(ExportError, match="not a readable PyTorch checkpoint"):
        resolve_model(f"cyclip:{broken}", device="cpu", cache_dir=tmp_path)
    layout = _cyclip_layout(source_model)
    del layout["state_dict"]["module.visual.attnpool.c_proj.weight"]
    partial = tmp_path / "partial.pt"
    torch.save(layout, partial)
    with pytest.raises(ExportError, match="does not fit the inferred architecture"):
        resolve_model(f"cyclip:{partial}", device="cpu", cache_dir=tmp_path)
