"""Checkpoints in the OpenAI-CLIP state-dict layout, rebuilt as open_clip models.

CyCLIP and CLOOB released checkpoints of their own CLIP re-implementations.
Their tensors use OpenAI's names (visual.layer1.0.conv1.weight,
transformer.resblocks.0.attn.in_proj_weight, token_embedding.weight, ...),
which open_clip's `CLIP` class shares. We read the architecture off the tensor
shapes (as OpenAI's own loader does), build that open_clip model with
QuickGELU (OpenAI's activation, which both projects kept), and load strictly,
so a checkpoint that does not fit fails loudly instead of half-loading.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from exporter.errors import ExportError
from exporter.models.base import ModelInfo, make_cache_key
from exporter.models.checkpoint_files import unreadable_message
from exporter.models.open_clip_model import (
    OpenClipModel,
    checkpoint_hash,
    embed_dim_of,
    pick_device,
    require_file,
)

# Metadata entries that OpenAI's JIT archives keep beside the tensors.
NON_TENSOR_KEYS = ("input_resolution", "context_length", "vocab_size")
OPENAI_VOCAB_SIZE = 49408


def read_checkpoint(path: Path, spec: str) -> dict[str, Any]:
    """torch.load a release checkpoint, tensors-only first."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # Release checkpoints may pickle small Python objects (e.g. argparse
        # namespaces); the user named this file explicitly, so allow them.
        try:
            data = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as error:
            raise ExportError(unreadable_message(spec, path)) from error
    except Exception as error:
        raise ExportError(unreadable_message(spec, path)) from error
    if not isinstance(data, dict):
        raise ExportError(
            f"model '{spec}': {path} holds a {type(data).__name__}, not a checkpoint dictionary"
        )
    return data


def extract_state_dict(checkpoint: dict[str, Any], spec: str, path: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, dict) or not state:
        raise ExportError(f"model '{spec}': {path} has no 'state_dict' of tensors")
    # DistributedDataParallel saves every name with a 'module.' prefix.
    cleaned = {}
    for key, value in state.items():
        name = key[len("module.") :] if key.startswith("module.") else key
        if name in NON_TENSOR_KEYS or not isinstance(value, torch.Tensor):
            continue
        cleaned[name] = value
    return cleaned


def _need(state: dict[str, torch.Tensor], key: str, spec: str) -> torch.Tensor:
    if key not in state:
        raise ExportError(
            f"model '{spec}': checkpoint lacks '{key}'; it is not in the OpenAI-CLIP layout this loader expects"
        )
    return state[key]


def _count(state: dict[str, torch.Tensor], pattern: str) -> int:
    regex = re.compile(pattern)
    return len({m.group(1) for key in state if (m := regex.match(key))})


def infer_clip_config(state: dict[str, torch.Tensor], spec: str) -> dict[str, Any]:
    """open_clip CLIP(embed_dim, vision_cfg, text_cfg) arguments that fit these tensors."""
    text_width = int(_need(state, "ln_final.weight", spec).shape[0])
    text_cfg = {
        "context_length": int(_need(state, "positional_embedding", spec).shape[0]),
        "vocab_size": int(_need(state, "token_embedding.weight", spec).shape[0]),
        "width": text_width,
        "heads": max(1, text_width // 64),
        "layers": _count(state, r"transformer\.resblocks\.(\d+)\."),
    }
    embed_dim = int(_need(state, "text_projection", spec).shape[1])
    if "visual.proj" in state:  # a vision transformer
        conv = _need(state, "visual.conv1.weight", spec)
        patch = int(conv.shape[-1])
        grid = round((int(_need(state, "visual.positional_embedding", spec).shape[0]) - 1) ** 0.5)
        width = int(conv.shape[0])
        vision_cfg: dict[str, Any] = {
            "layers": _count(state, r"visual\.transformer\.resblocks\.(\d+)\."),
            "width": width,
            "patch_size": patch,
            "image_size": patch * grid,
            "head_width": 64,
        }
    else:  # OpenAI's modified ResNet
        layers = [_count(state, rf"visual\.layer{b}\.(\d+)\.") for b in (1, 2, 3, 4)]
        if not all(layers):
            raise ExportError(
                f"model '{spec}': checkpoint has neither a vision transformer nor all four ResNet stages"
            )
        grid = round((int(_need(state, "visual.attnpool.positional_embedding", spec).shape[0]) - 1) ** 0.5)
        vision_cfg = {
            "layers": tuple(layers),
            "width": int(_need(state, "visual.layer1.0.conv1.weight", spec).shape[0]),
            "image_size": grid * 32,
            "head_width": 64,
        }
    return {"embed_dim": embed_dim, "vision_cfg": vision_cfg, "text_cfg": text_cfg}


def describe_architecture(config: dict[str, Any]) -> str:
    """The open_clip name whose config this is (RN50, RN50x4, ...), or a short description."""
    import open_clip

    vision = config["vision_cfg"]
    for name in ("RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B-32", "ViT-B-16", "ViT-L-14"):
        reference = open_clip.get_model_config(name)
        if not reference:
            continue
        ref_vision = reference["vision_cfg"]
        ref_layers = ref_vision["layers"]
        ref_layers = tuple(ref_layers) if isinstance(ref_layers, list) else ref_layers
        same_vision = (ref_layers, ref_vision["width"], ref_vision["image_size"]) == (
            vision["layers"],
            vision["width"],
            vision["image_size"],
        )
        same_text = all(reference["text_cfg"][k] == config["text_cfg"][k] for k in ("width", "layers"))
        if same_vision and same_text and reference["embed_dim"] == config["embed_dim"]:
            return name
    layers = vision["layers"]
    kind = f"ResNet{list(layers)}" if isinstance(layers, tuple) else f"ViT-{layers}L"
    return f"{kind}-w{vision['width']}-{vision['image_size']}px"


def build_openai_layout_model(
    spec: str,
    state: dict[str, torch.Tensor],
    *,
    logit_scale_log: torch.Tensor,
    family: str,
    objective: str,
    path: Path,
    device: str,
    cache_dir: Path | None,
    description: str,
) -> OpenClipModel:
    """Build the open_clip model for an OpenAI-layout state dict and wrap it."""
    import open_clip
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    config = infer_clip_config(state, spec)
    text = config["text_cfg"]
    if text["vocab_size"] != OPENAI_VOCAB_SIZE:
        raise ExportError(
            f"model '{spec}': token embedding has {text['vocab_size']} rows, not the {OPENAI_VOCAB_SIZE} of CLIP's "
            "BPE tokenizer; this checkpoint needs a different tokenizer"
        )
    model = CLIP(
        config["embed_dim"],
        vision_cfg=CLIPVisionCfg(**config["vision_cfg"]),
        text_cfg=CLIPTextCfg(**text),
        quick_gelu=True,
    )
    state = dict(state)
    state["logit_scale"] = logit_scale_log.reshape(model.logit_scale.shape).float()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0] if str(error) else "shape mismatch"
        detail = " ".join(str(error).split())[:300]
        raise ExportError(
            f"model '{spec}': {path.name} does not fit the inferred architecture ({first}: {detail})"
        ) from error
    model = model.float().eval()
    preprocess = open_clip.image_transform(config["vision_cfg"]["image_size"], is_train=False)
    tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=text["context_length"])
    digest = checkpoint_hash(path, cache_dir)
    arch = describe_architecture(config)
    logit_scale = float(logit_scale_log.float().exp().reshape(-1)[0])
    info = ModelInfo(
        name=spec,
        family=family,
        objective=objective,
        weights=f"{path.name}@{digest[:12]}",
        logit_scale=logit_scale,
        logit_bias=None,
        embed_dim=embed_dim_of(model),
        trained=True,
        description=f"{description} ({arch})",
        cache_key=make_cache_key(
            kind=family,
            weights=digest,
            config=config,
            preprocess=repr(preprocess),
            context_length=text["context_length"],
        ),
    )
    return OpenClipModel(model, preprocess, tokenizer, pick_device(device), info)


def checkpoint_path(spec: str) -> Path:
    rest = spec.partition(":")[2]
    if not rest:
        raise ExportError(f"model '{spec}': give the checkpoint path after the colon")
    return require_file(rest, spec)
