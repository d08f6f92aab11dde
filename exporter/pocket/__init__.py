"""The pocket lab: tiny CLIP-family models trained here, offline, on generated scenes.

Public API (see docs/ARCHITECTURE.md, "Pocket lab", and exporter/pocket/README.md):
    POCKET_MODELS, DEFAULT_SET, ensure_pocket_model, load_pocket_model, pocket_spec, PocketArtifact
    display_pairs, Scene, CLASSES, ZERO_SHOT_TEMPLATES
    PocketSpec, train_pocket
    WordTokenizer

Names are imported lazily: ``from exporter.pocket import display_pairs`` does not
import torch or open_clip (only the scene generator needs none of them).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "POCKET_MODELS": "registry",
    "DEFAULT_SET": "registry",
    "PocketArtifact": "registry",
    "ensure_pocket_model": "registry",
    "load_pocket_model": "registry",
    "pocket_spec": "registry",
    "CLASSES": "scenes",
    "ZERO_SHOT_TEMPLATES": "scenes",
    "Scene": "scenes",
    "display_pairs": "scenes",
    "PocketSpec": "train",
    "train_pocket": "train",
    "WordTokenizer": "tokenizer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'exporter.pocket' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"exporter.pocket.{module}"), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
