"""Pairs: the unit every dataset yields and every model embeds.

A dataset is a list of inter-modal pairs (item i of each modality belongs
together). Images are opened lazily so that a 5,000-pair COCO subset does not
sit in memory; each item carries a content hash of its image bytes so that the
embedding cache is keyed by what was embedded, not by where it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from exporter.errors import ExportError, did_you_mean

DEFAULT_TEMPLATES = ["{}", "a photo of a {}."]


@dataclass(frozen=True)
class PairItem:
    id: str
    text: str
    image: Callable[[], Image.Image] | None
    image_key: str
    label: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class PairDataset:
    name: str
    kind: str
    description: str
    items: list[PairItem]
    modalities: tuple[str, ...] = ("image", "text")
    classes: list[str] | None = None
    zero_shot_templates: list[str] = field(default_factory=lambda: list(DEFAULT_TEMPLATES))
    precomputed: dict[str, dict[str, np.ndarray]] | None = None
    # Rows dropped under skip_bad, one line each ("<file>:<row>: <reason>").
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)



def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def text_key(text: str) -> str:
    """Cache key of a caption: its UTF-8 bytes hashed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_rgb(path: Path) -> Image.Image:
    """Open an image file fully and convert it to RGB (grayscale, palette, alpha...)."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
                # Composite transparent pixels on white, as a viewer would show them.
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return Image.alpha_composite(background, rgba).convert("RGB")
            return image.convert("RGB")
    except FileNotFoundError as error:
        raise ExportError(f"{path}: image file not found; check the path or remove the row") from error
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise ExportError(
            f"{path}: unreadable image ({error}); replace the file or remove the row"
        ) from error


def image_loader(path: Path) -> Callable[[], Image.Image]:
    """A zero-argument callable that opens the image when the embedder needs it."""

    def load() -> Image.Image:
        return open_rgb(path)

    return load


def option(options: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, where: str) -> Any:
    """Read one dataset option with a type check that names the dataset and key."""
    value = options.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) and kind in (int, (int,)):
        raise ExportError(f"{where}: option '{key}' must be an integer, not {value!r}")
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ExportError(f"{where}: option '{key}' must be {expected}, not {value!r}")
    return value


def check_unknown_options(options: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in options:
        if key not in allowed:
            raise ExportError(f"{where}: unknown option '{key}' ({did_you_mean(key, allowed)})")


def classes_from_labels(items: list[PairItem]) -> list[str] | None:
    """Sorted distinct labels when every item has one; None otherwise."""
    labels = [item.label for item in items]
    if not labels or any(label is None for label in labels):
        return None
    return sorted(set(labels))  # type: ignore[arg-type]
