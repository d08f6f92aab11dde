"""Model specs -> EmbeddingModel: `<kind>:<rest>`, one resolver per kind (as open_clip's factory)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from exporter.errors import ExportError, did_you_mean
from exporter.models.base import EmbeddingModel
from exporter.seeds import DEFAULT_SEED


class Loader(Protocol):
    def __call__(self, spec: str, *, device: str, cache_dir: Path, seed: int) -> EmbeddingModel: ...


@dataclass(frozen=True)
class ModelKind:
    prefix: str
    pattern: str
    load: Loader
    description: str


# Each loader imports its module only when called: listing kinds (or naming one) costs no torch import.
def _load_pocket(spec: str, **options) -> EmbeddingModel:
    from exporter.models.pocket_model import load_pocket

    return load_pocket(spec, **options)


def _load_open_clip(spec: str, **options) -> EmbeddingModel:
    from exporter.models.open_clip_model import load_open_clip

    return load_open_clip(spec, **options)


def _load_cyclip(spec: str, **options) -> EmbeddingModel:
    from exporter.models.cyclip import load_cyclip

    return load_cyclip(spec, **options)


def _load_cloob(spec: str, **options) -> EmbeddingModel:
    from exporter.models.cloob import load_cloob

    return load_cloob(spec, **options)


def _load_precomputed(spec: str, **options) -> EmbeddingModel:
    from exporter.models.precomputed import load_precomputed

    return load_precomputed(spec, **options)


MODEL_KINDS: dict[str, ModelKind] = {
    kind.prefix: kind
    for kind in (
        ModelKind(
            "pocket",
            "pocket:<name>",
            _load_pocket,
            "small contrastive models the exporter trains itself on generated scenes",
        ),
        ModelKind(
            "open_clip",
            "open_clip:<architecture>:<pretrained tag | checkpoint path | random>",
            _load_open_clip,
            "any open_clip model (CLIP, SigLIP, ...), e.g. open_clip:ViT-B-32:laion2b_s34b_b79k",
        ),
        ModelKind(
            "cyclip",
            "cyclip:<checkpoint path>",
            _load_cyclip,
            "a CyCLIP release checkpoint (RN50 on CC3M, OpenAI-CLIP layout) mapped into open_clip",
        ),
        ModelKind(
            "cloob",
            "cloob:<checkpoint path>",
            _load_cloob,
            "a CLOOB release checkpoint (RN50/RN50x4, logit_inv_tau) mapped into open_clip",
        ),
        ModelKind(
            "embeddings",
            "embeddings:<folder>",
            _load_precomputed,
            "precomputed vectors: <modality>.npy files (+ model.json) from encoders run elsewhere",
        ),
    )
}


def list_model_kinds() -> list[tuple[str, str]]:
    """(pattern, description) for `python -m exporter models`."""
    return [(kind.pattern, kind.description) for kind in MODEL_KINDS.values()]


def resolve_model(
    spec: str, *, device: str = "auto", cache_dir: Path, seed: int = DEFAULT_SEED
) -> EmbeddingModel:
    """Turn a spec such as 'open_clip:RN50:/ckpt/rn50.pt' into a ready EmbeddingModel."""
    prefix, sep, rest = spec.partition(":")
    kind = MODEL_KINDS.get(prefix)
    if kind is None:
        hint = did_you_mean(prefix, MODEL_KINDS, cutoff=0.4, shown=lambda name: f"{name}:...")
        raise ExportError(
            f"model '{spec}': unknown model kind '{prefix}' ({hint}); `python -m exporter models` lists them"
        )
    if not sep or not rest:
        raise ExportError(f"model '{spec}': missing the part after '{prefix}:'; write {kind.pattern}")
    return kind.load(spec, device=device, cache_dir=Path(cache_dir), seed=seed)
