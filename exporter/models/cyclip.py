"""`cyclip:<path>` — the CyCLIP release (Goel et al. 2022): RN50 trained on CC3M.

The checkpoint is {"epoch", "name", "state_dict", "optimizer"} with the model's
tensors in the OpenAI-CLIP layout, usually prefixed 'module.' (saved from
DistributedDataParallel); its learned temperature is the 'logit_scale' tensor
(a log, as in CLIP).
"""

from __future__ import annotations

from pathlib import Path

from exporter.errors import ExportError
from exporter.models.open_clip_model import OpenClipModel
from exporter.models.openai_layout import (
    build_openai_layout_model,
    checkpoint_path,
    extract_state_dict,
    read_checkpoint,
)
from exporter.seeds import DEFAULT_SEED


def load_cyclip(
    spec: str, *, device: str = "auto", cache_dir: Path | None = None, seed: int = DEFAULT_SEED
) -> OpenClipModel:
    path = checkpoint_path(spec)
    state = extract_state_dict(read_checkpoint(path, spec), spec, path)
    if "logit_scale" not in state:
        hint = " (that looks like a CLOOB checkpoint: use cloob:<path>)" if "logit_inv_tau" in state else ""
        raise ExportError(f"model '{spec}': {path.name} has no 'logit_scale' tensor{hint}")
    logit_scale_log = state.pop("logit_scale")
    return build_openai_layout_model(
        spec,
        state,
        logit_scale_log=logit_scale_log,
        family="cyclip",
        objective="cyclip",
        path=path,
        device=device,
        cache_dir=cache_dir,
        description="CyCLIP checkpoint: InfoNCE plus in-modal and cross-modal cyclic consistency",
    )
