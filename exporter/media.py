"""Previews of modalities other than image and text: what a reader sees for audio or a molecule.

A pairs file may give, per item and modality m (kept in PairItem.extra):
    "<m>"          a text for it (an AudioSet label, a SMILES string)
    "<m>_preview"  an image depicting it (a spectrogram, a drawn molecule), relative to the pairs file
    "<m>_link"     where the original lives (e.g. the source video)
`item_media` turns these into items.json's "media" entry with a thumbnail, so
previews show each modality as what it is, never a file name.

The renderers make such images: `spectrogram_image` from a WAV file (numpy and
scipy only; the audio itself need not be redistributed) and `molecule_image`
from SMILES (RDKit, imported only when used).
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from PIL import Image

from exporter.errors import ExportError
from exporter.thumbnails import write_thumbnail

PREVIEW_SUFFIX = "_preview"
LINK_SUFFIX = "_link"


def is_web_link(value: str) -> bool:
    """Only http(s) links reach the page (a data: or javascript: URL never does)."""
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def item_media(
    item_id: str,
    extra: dict[str, str],
    modalities: tuple[str, ...],
    base: Path | None,
    thumbs: Path,
    max_px: int,
) -> tuple[dict[str, dict], dict[str, str]]:
    """(media by modality, the extra columns left to show as they are) for one item."""
    media: dict[str, dict] = {}
    rest = dict(extra)
    for modality in modalities:
        if modality == "text":
            continue  # a caption is itself; images may carry a link (e.g. to the video they come from)
        entry: dict[str, str] = {}
        preview = rest.pop(modality + PREVIEW_SUFFIX, None)
        link = rest.pop(modality + LINK_SUFFIX, None)
        if modality in rest:
            entry["text"] = rest.pop(modality)
        if preview:
            path = Path(preview) if base is None else base / preview
            try:
                with Image.open(path) as image:
                    image.load()
                    entry["image"] = "thumbs/" + write_thumbnail(image, thumbs, max_px)
            except (OSError, ValueError) as error:
                raise ExportError(
                    f"item '{item_id}': cannot read its {modality} preview {path} ({error}); fix the file or the "
                    f"'{modality}{PREVIEW_SUFFIX}' column"
                ) from error
        if link:
            if not is_web_link(link):
                raise ExportError(
                    f"item '{item_id}': '{modality}{LINK_SUFFIX}' must be an http(s) URL, got {link!r}"
                )
            entry["link"] = link
        if entry:
            media[modality] = entry
    return media, rest


# ---------------------------------------------------------------- renderers


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float samples in [-1, 1] and the sample rate of a PCM WAV file."""
    try:
        with wave.open(str(path), "rb") as handle:
            rate = handle.getframerate()
            width = handle.getsampwidth()
            channels = handle.getnchannels()
            frames = handle.readframes(handle.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise ExportError(
            f"{path}: not a readable PCM WAV file ({error}); convert it to 16-bit PCM WAV"
        ) from error
    kinds = {1: (np.uint8, 128.0, 128.0), 2: (np.int16, 0.0, 32768.0), 4: (np.int32, 0.0, 2147483648.0)}
    if width not in kinds:
        raise ExportError(f"{path}: {8 * width}-bit samples are not supported; convert it to 16-bit PCM WAV")
    dtype, zero, full = kinds[width]
    samples = (np.frombuffer(frames, dtype=dtype).astype(np.float64) - zero) / full
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if samples.size == 0:
        raise ExportError(f"{path}: the WAV file holds no samples")
    return samples, rate


def spectrogram_image(
    path: Path, *, size: tuple[int, int] = (192, 96), max_hz: float = 8000.0
) -> Image.Image:
    """A log-magnitude spectrogram (time left to right, low frequencies at the bottom), viridis-free grey."""
    from scipy.signal import spectrogram

    samples, rate = read_wav(path)
    nperseg = min(512, samples.size)
    freqs, _, power = spectrogram(samples, fs=rate, nperseg=nperseg, noverlap=nperseg // 2, mode="magnitude")
    power = power[freqs <= max_hz]
    db = 20 * np.log10(power + 1e-10)
    top = db.max()
    scaled = np.clip((db - (top - 80.0)) / 80.0, 0.0, 1.0)  # an 80 dB window below the loudest bin
    pixels = (255 * (1.0 - scaled[::-1])).astype(np.uint8)  # dark = loud, low frequencies at the bottom
    return Image.fromarray(pixels, mode="L").resize(size, Image.Resampling.BILINEAR).convert("RGB")


def molecule_image(smiles: str, *, size: int = 192) -> Image.Image:
    """A 2-D drawing of a molecule given as SMILES (needs RDKit: pip install rdkit)."""
    try:
        from rdkit import Chem
        from rdkit.Chem import Draw
    except ImportError as error:
        raise ExportError("drawing molecules needs RDKit; install it with 'pip install rdkit'") from error
    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None:
        raise ExportError(f"not a valid SMILES string: {smiles[:60]!r}; check the molecule column")
    image = Draw.MolToImage(molecule, size=(size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
