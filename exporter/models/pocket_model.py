"""`pocket:<name>` — the small contrastive models the pocket lab trains (and caches) itself."""

from __future__ import annotations

from pathlib import Path

from exporter.models.base import ModelInfo, make_cache_key
from exporter.models.open_clip_model import OpenClipModel, checkpoint_hash, embed_dim_of, pick_device


def load_pocket(spec: str, *, device: str = "auto", cache_dir: Path, seed: int = 31415) -> OpenClipModel:
    # Imported here: naming no pocket model should cost no pocket-lab import.
    from exporter import pocket

    name = spec.partition(":")[2]
    pocket.pocket_spec(name)  # an unknown name fails here, with the closest one suggested
    torch_device = pick_device(device)
    artifact = pocket.ensure_pocket_model(name, cache_dir=Path(cache_dir), seed=seed)
    model, preprocess, tokenizer = pocket.load_pocket_model(artifact, torch_device)
    info = ModelInfo(
        name=spec,
        family=artifact.family,
        objective=artifact.objective,
        weights=artifact.weights,
        # The multiplier (and bias) the model ended training with, as the artifact records them.
        logit_scale=float(artifact.logit_scale),
        logit_bias=None if artifact.logit_bias is None else float(artifact.logit_bias),
        embed_dim=embed_dim_of(model),
        trained=artifact.trained,
        description=artifact.description,
        cache_key=make_cache_key(
            kind="pocket",
            weights=checkpoint_hash(Path(artifact.checkpoint), Path(cache_dir)),
            tokenizer=checkpoint_hash(Path(artifact.tokenizer_file), Path(cache_dir)),
            preprocess=repr(preprocess),
        ),
        unknown_words=tokenizer.unknown_words,
    )
    wrapped = OpenClipModel(model, preprocess, tokenizer, torch_device, info)
    # The pipeline reads training dynamics (artifact.dynamics_file) from here.
    wrapped.artifact = artifact
    return wrapped
