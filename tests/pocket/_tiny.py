"""Tiny pocket specs: small enough that training takes about a second."""

from __future__ import annotations

from exporter.pocket.train import PocketSpec

TINY = dict(
    embed_dim=16,
    vision_width=8,  # the default ModifiedResNet tower at its smallest useful width
    vision_head_width=32,
    text_width=32,
    text_layers=1,
    text_heads=2,
    steps=6,
    batch_size=16,
    warmup=2,
    train_pool=64,
    snapshots=4,
    curve_every=2,
    display_n=12,
    threads=1,
)
_FAMILY = {"infonce": "clip", "cyclip": "cyclip", "cloob": "cloob", "siglip": "siglip"}


def tiny_spec(objective: str = "infonce", **overrides) -> PocketSpec:
    extra = {"logit_bias": -10.0, "temperature": 0.1} if objective == "siglip" else {}
    return PocketSpec(objective=objective, family=_FAMILY[objective], **{**TINY, **extra, **overrides})


def tiny_vit_spec(objective: str = "infonce", **overrides) -> PocketSpec:
    """The same with open_clip's VisionTransformer as the image tower."""
    vit = dict(
        vision_resnet_layers=None, vision_width=32, vision_layers=1, vision_head_width=16, patch_size=16
    )
    return tiny_spec(objective, **{**vit, **overrides})
