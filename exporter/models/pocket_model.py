"""`pocket:<name>` — the small contrastive models the pocket lab trains (and caches) itself."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from exporter.errors import ExportError, did_you_mean
from exporter.models.base import ModelInfo, make_cache_key
from exporter.models.open_clip_model import (
    OpenClipModel,
    checkpoint_hash,
    embed_dim_of,
    logit_params,
    pick_device,
)

FAMILY_BY_OBJECTIVE = {
    "infonce": "clip",
    "cyclip": "cyclip",
    "cloob": "cloob",
    "infoloob": "cloob",
    "siglip": "siglip",
}
OBJECTIVE_NAMES = {"cloob": "infoloob", "siglip": "sigmoid"}


def _pocket() -> Any:
    """The pocket lab's API (POCKET_MODELS, ensure_pocket_model, load_pocket_model), imported lazily."""
    for module_name in ("exporter.pocket", "exporter.pocket.registry"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if all(hasattr(module, n) for n in ("POCKET_MODELS", "ensure_pocket_model", "load_pocket_model")):
            return module
    raise ExportError(
        "model kind 'pocket' needs the pocket lab (exporter.pocket with POCKET_MODELS, ensure_pocket_model, "
        "load_pocket_model), which is not available in this installation"
    )


def load_pocket(spec: str, *, device: str = "auto", cache_dir: Path, seed: int = 31415) -> OpenClipModel:
    name = spec.partition(":")[2]
    pocket = _pocket()
    registry = pocket.POCKET_MODELS
    if name not in registry:
        hint = did_you_mean(name, registry, cutoff=0.4, shown=lambda known: f"pocket:{known}")
        raise ExportError(f"model '{spec}': unknown pocket model '{name}' ({hint})")
    pocket_spec = registry[name]
    torch_device = pick_device(device)
    artifact = pocket.ensure_pocket_model(name, cache_dir=Path(cache_dir), seed=seed)
    model, preprocess, tokenizer = pocket.load_pocket_model(artifact, torch_device)
    checkpoint = Path(artifact.checkpoint)
    digest = checkpoint_hash(checkpoint, Path(cache_dir))
    tokenizer_file = getattr(artifact, "tokenizer_file", None)
    tokenizer_hash = checkpoint_hash(Path(tokenizer_file), Path(cache_dir)) if tokenizer_file else None
    objective = str(getattr(pocket_spec, "objective", "infonce"))
    # The artifact records the final multiplier (and bias) it trained with; the model's
    # own parameters are the fallback for artifacts that do not.
    logit_scale, logit_bias = logit_params(model)
    if getattr(artifact, "logit_scale", None) is not None:
        logit_scale = float(artifact.logit_scale)
        logit_bias = None if getattr(artifact, "logit_bias", None) is None else float(artifact.logit_bias)
    description = getattr(artifact, "description", None) or getattr(pocket_spec, "description", None)
    info = ModelInfo(
        name=spec,
        family=str(getattr(artifact, "family", None) or FAMILY_BY_OBJECTIVE.get(objective, objective)),
        objective=str(getattr(artifact, "objective", None) or OBJECTIVE_NAMES.get(objective, objective)),
        weights=str(getattr(artifact, "weights", None) or f"{checkpoint.name}@{digest[:12]}"),
        logit_scale=logit_scale,
        logit_bias=logit_bias,
        embed_dim=embed_dim_of(model),
        trained=bool(getattr(artifact, "trained", True)),
        description=str(description or f"pocket model trained with the {objective} objective"),
        cache_key=make_cache_key(
            kind="pocket", weights=digest, tokenizer=tokenizer_hash, preprocess=repr(preprocess)
        ),
    )
    wrapped = OpenClipModel(model, preprocess, tokenizer, torch_device, info)
    # The pipeline reads training dynamics (artifact.dynamics_file) from here.
    wrapped.artifact = artifact
    return wrapped
