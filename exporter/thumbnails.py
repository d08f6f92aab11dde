"""Small content-addressed preview images (at most 160 px on the long side)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from exporter.contract import write_bytes_atomic

WEBP_QUALITY = 80


def encode_thumbnail(image: Image.Image, max_px: int) -> bytes:
    """WebP bytes of the image shrunk to max_px on its long side (never enlarged)."""
    thumb = image.convert("RGB")
    if max(thumb.size) > max_px:
        scale = max_px / max(thumb.size)
        size = (max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale)))
        thumb = thumb.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    # method=6 and fixed quality keep the bytes identical from run to run.
    thumb.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=6)
    return buffer.getvalue()


def write_thumbnail(image: Image.Image, folder: Path, max_px: int) -> str:
    """Write the thumbnail under a name derived from its bytes; return that name."""
    data = encode_thumbnail(image, max_px)
    name = f"{hashlib.sha256(data).hexdigest()[:12]}.webp"
    target = Path(folder) / name
    if not target.exists():
        write_bytes_atomic(target, data)
    return name
