"""Amumo's model names: what the weights are and the logit scale Amumo's loss used."""

from __future__ import annotations

import re
from dataclasses import dataclass

from exporter.errors import ExportError, did_you_mean


@dataclass(frozen=True)
class AmumoModel:
    name: str  # as in similarities/<name>.csv
    label: str
    family: str
    objective: str
    weights: str
    logit_scale: float  # the scale Amumo computed its published loss with
    description: str


_FIXED = [
    AmumoModel(
        "CLIP",
        "CLIP RN50",
        "clip",
        "infonce",
        "OpenAI CLIP RN50",
        100.0,
        "OpenAI's CLIP ResNet-50 (400M web pairs)",
    ),
    AmumoModel(
        "CyCLIP",
        "CyCLIP RN50",
        "cyclip",
        "cyclip",
        "CyCLIP RN50, CC3M",
        100.0,
        "CyCLIP ResNet-50 trained on Conceptual Captions 3M; logit scale exp(4.6052)",
    ),
    AmumoModel(
        "CLOOB",
        "CLOOB RN50 (YFCC)",
        "cloob",
        "infoloob",
        "CLOOB RN50, YFCC, epoch 28",
        30.0,
        "CLOOB ResNet-50 trained on YFCC-15M for 28 epochs (InfoLOOB + Hopfield)",
    ),
    AmumoModel(
        "CLOOB_LAION400M",
        "CLOOB ViT-B/16 (LAION-400M)",
        "cloob",
        "infoloob",
        "CLOOB ViT-B/16, LAION-400M, 16 epochs",
        30.0,
        "CLOOB ViT-B/16 trained on LAION-400M for 16 epochs",
    ),
    AmumoModel(
        "ImageBind",
        "ImageBind (huge)",
        "imagebind",
        "infonce",
        "imagebind_huge",
        1.0,
        "ImageBind huge; Amumo scored it at logit scale 1 (its learned scale was never applied), "
        "so losses are at temperature 1",
    ),
    AmumoModel(
        "CLOOME_CLIP",
        "CLOOME (InfoNCE)",
        "cloome",
        "infonce",
        "CLOOME features, CLIP objective",
        1.0,
        "CLOOME microscopy/molecule encoders, InfoNCE; precomputed features scored at logit scale 1",
    ),
    AmumoModel(
        "CLOOME_CLOOB",
        "CLOOME (InfoLOOB)",
        "cloome",
        "infoloob",
        "CLOOME features, CLOOB objective",
        1.0,
        "CLOOME microscopy/molecule encoders, InfoLOOB; precomputed features scored at logit scale 1",
    ),
]

# The CLOOB paper's ablation: {architecture x objective} x {data, epoch}, all RN50.
_ABLATION = re.compile(
    r"^(clip|clip_infoLOOB|cloob_infoNCE|cloob)_rn50_(cc_epoch_31|cc_epoch_128|yfcc_epoch_28)$"
)
_ABLATION_VARIANT = {
    "clip": ("clip", "infonce", "CLIP architecture, InfoNCE"),
    "clip_infoLOOB": ("clip", "infoloob", "CLIP architecture, InfoLOOB"),
    "cloob_infoNCE": ("cloob", "infonce", "CLOOB architecture (Hopfield), InfoNCE"),
    "cloob": ("cloob", "infoloob", "CLOOB architecture (Hopfield), InfoLOOB"),
}
_ABLATION_DATA = {
    "cc_epoch_31": "CC3M, epoch 31",
    "cc_epoch_128": "CC3M, epoch 128",
    "yfcc_epoch_28": "YFCC-15M, epoch 28",
}
# InfoNCE with a learned scale: the value each checkpoint had learned (Amumo's code).
_ABLATION_LEARNED_SCALE = {"cc_epoch_128": 62.22, "cc_epoch_31": 59.80, "yfcc_epoch_28": 57.59}

AMUMO_MODELS: dict[str, AmumoModel] = {model.name: model for model in _FIXED}


def amumo_model(name: str) -> AmumoModel:
    """The model a similarities/<name> file holds; unknown names are refused with a hint."""
    if name in AMUMO_MODELS:
        return AMUMO_MODELS[name]
    match = _ABLATION.match(name)
    if match:
        variant, data = match.groups()
        family, objective, what = _ABLATION_VARIANT[variant]
        scale = _ABLATION_LEARNED_SCALE[data] if variant == "clip" else 30.0
        return AmumoModel(
            name,
            f"{what} ({_ABLATION_DATA[data]})",
            family,
            objective,
            f"CLOOB-paper ablation checkpoint {name}",
            scale,
            f"RN50 from the CLOOB paper's ablation: {what}, trained on {_ABLATION_DATA[data]}",
        )
    known = list(AMUMO_MODELS) + ["<clip|clip_infoLOOB|cloob_infoNCE|cloob>_rn50_<cc_epoch_31|...>"]
    raise ExportError(
        f"Amumo model '{name}' is not known, so its logit scale is unknown ({did_you_mean(name, known)}); "
        "add it to exporter/amumo/models.py or pass --skip-bad to leave it out"
    )
