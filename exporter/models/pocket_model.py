"""`pocket:<name>` — the small contrastive models the pocket lab trains (and caches) itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exporter.models.base import Capabilities, ModelInfo, TrainingDynamics, make_cache_key
from exporter.models.open_clip_model import OpenClipModel, checkpoint_hash, embed_dim_of, pick_device
from exporter.seeds import DEFAULT_SEED

# Encoders, plus the record of its own training; the word-level tokenizer knows the scene words only.
POCKET_CAPABILITIES = Capabilities(
    encode_images=True, encode_texts=True, training_dynamics=True, closed_vocabulary=True
)


class PocketModel(OpenClipModel):
    """A pocket model: open_clip encoders plus the training artifact (checkpoint, dynamics)."""

    def __init__(self, *args, artifact, **kwargs):
        super().__init__(*args, **kwargs)
        self.artifact = artifact

    def training_dynamics(self) -> TrainingDynamics:
        with np.load(self.artifact.dynamics_file) as data:
            return TrainingDynamics(
                steps=data["steps"],
                snapshots_image=data["image"],
                snapshots_text=data["text"],
                curve={
                    "step": data["curve_step"],
                    "loss": data["loss"],
                    "centroid_distance": data["centroid_distance"],
                    "temperature": data["temperature"],
                },
            )


def load_pocket(spec: str, *, device: str = "auto", cache_dir: Path, seed: int = DEFAULT_SEED) -> PocketModel:
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
        capabilities=POCKET_CAPABILITIES,
    )
    return PocketModel(model, preprocess, tokenizer, torch_device, info, artifact=artifact)
