"""`shapes`: the pocket lab's generated captioned scenes (its held-out display split).

The pocket package is imported only when this kind is used, so every other
dataset works without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from PIL import Image

from exporter.datasets.base import PairDataset, PairItem, check_unknown_options, option
from exporter.errors import ExportError

DEFAULT_N = 100


def _display_pairs() -> Callable[..., list[Any]]:
    try:
        from exporter.pocket import display_pairs
    except ImportError:
        try:
            from exporter.pocket.scenes import display_pairs
        except ImportError as error:
            raise ExportError(
                "dataset kind 'shapes' needs the pocket lab (exporter.pocket), which is not installed"
            ) from error
    return display_pairs


def image_content_key(image: Image.Image) -> str:
    """Hash of the rendered pixels (mode, size and bytes): what the encoder actually sees."""
    digest = hashlib.sha256(f"{image.mode}:{image.size[0]}x{image.size[1]}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def _loader(image: Image.Image) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        return image.convert("RGB")  # a copy, so callers cannot alter the scene

    return load


def shape_classes(labels: set[str]) -> list[str]:
    """Zero-shot classes in the pocket vocabulary's order when it is available."""
    try:
        from exporter.pocket.scenes import SHAPES

        ordered = [shape for shape in SHAPES if shape in labels]
        if set(ordered) == labels:
            return ordered
    except ImportError:
        pass
    return sorted(labels)


POCKET_TEMPLATES = ("{}", "a {}")


def load_shapes(name: str, options: dict[str, Any], *, seed: int, skip_bad: bool = False) -> PairDataset:
    where = f"dataset '{name}' (shapes)"
    check_unknown_options(options, {"n", "description"}, where)
    n = option(options, "n", int, DEFAULT_N, where)
    if n < 1:
        raise ExportError(f"{where}: option 'n' must be positive, got {n}")
    scenes = _display_pairs()(n, seed=seed)
    items = [
        PairItem(
            id=str(scene.id),
            text=scene.caption,
            image=_loader(scene.image),
            image_key=image_content_key(scene.image),
            label=scene.label,
            extra={str(k): str(v) for k, v in dict(getattr(scene, "attributes", {}) or {}).items()},
        )
        for scene in scenes
    ]
    labels = {item.label for item in items if item.label is not None}
    return PairDataset(
        name=name,
        kind="shapes",
        description=options.get(
            "description", f"{n} generated scenes of coloured shapes with template captions (held-out split)"
        ),
        items=items,
        classes=shape_classes(labels) if all(item.label for item in items) else None,
        # Words the pocket models know (every scene caption starts with "a"): the
        # defaults' "photo", "of" and "." would be <unk> to them.
        zero_shot_templates=list(POCKET_TEMPLATES),
    )
