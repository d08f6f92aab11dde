"""`cloob:<path>` — the CLOOB release (Fürst et al. 2022): RN50 / RN50x4 trained on YFCC.

The checkpoint is a dict with 'model_config_file' (e.g. "RN50.json") and
'state_dict' ('module.'-prefixed). CLOOB's model class keeps the text encoder
in a submodule named 'transformer', so its text tensors read
transformer.token_embedding.weight, transformer.transformer.resblocks.N...,
transformer.ln_final..., transformer.text_projection. The inverse temperature
is stored as its log, 'logit_inv_tau' (the model returns logit_inv_tau.exp()
as the multiplier of the cosine similarities), which is exactly open_clip's
logit_scale convention. 'logit_scale_hopfield' only matters for training and is
dropped.
"""

from __future__ import annotations

from pathlib import Path

import torch

from exporter.errors import ExportError
from exporter.models.open_clip_model import OpenClipModel
from exporter.models.openai_layout import (
    build_openai_layout_model,
    checkpoint_path,
    extract_state_dict,
    read_checkpoint,
)
from exporter.seeds import DEFAULT_SEED

TEXT_TOWER_PREFIX = "transformer."
# Names that live at the top level in the OpenAI layout but inside CLOOB's text tower.
TEXT_TOP_LEVEL = ("token_embedding.", "positional_embedding", "ln_final.", "text_projection")


def cloob_to_openai_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename CLOOB's text-tower tensors to the OpenAI layout (no-op for the older CLIP class)."""
    if "transformer.token_embedding.weight" not in state:
        return dict(state)
    renamed: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith(TEXT_TOWER_PREFIX):
            inner = key[len(TEXT_TOWER_PREFIX) :]
            if inner.startswith("transformer.") or inner.startswith(TEXT_TOP_LEVEL):
                renamed[inner] = value
                continue
        renamed[key] = value
    return renamed


def load_cloob(
    spec: str, *, device: str = "auto", cache_dir: Path | None = None, seed: int = DEFAULT_SEED
) -> OpenClipModel:
    path = checkpoint_path(spec)
    checkpoint = read_checkpoint(path, spec)
    state = extract_state_dict(checkpoint, spec, path)
    if "logit_inv_tau" not in state:
        hint = (
            " (that looks like a CLIP/CyCLIP checkpoint: use cyclip:<path>)" if "logit_scale" in state else ""
        )
        raise ExportError(f"model '{spec}': {path.name} has no 'logit_inv_tau' tensor{hint}")
    state = cloob_to_openai_layout(state)
    logit_scale_log = state.pop("logit_inv_tau")
    state.pop("logit_scale_hopfield", None)
    config_file = checkpoint.get("model_config_file")
    named = f", configured as {Path(str(config_file)).stem}" if config_file else ""
    return build_openai_layout_model(
        spec,
        state,
        logit_scale_log=logit_scale_log,
        family="cloob",
        objective="infoloob",
        path=path,
        device=device,
        cache_dir=cache_dir,
        description=f"CLOOB checkpoint: InfoLOOB on Hopfield-retrieved embeddings{named}",
    )
