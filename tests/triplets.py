"""A synthetic three-modality dataset (image, text, audio) exported for real.

Shared by the export test (tests/export/test_three_modalities.py) and the
browser test of the k-modality previews: N items whose three embeddings share
content but sit in their own cones (a gap between every two), small images
with a credit line, and per-item audio given as a spectrogram preview made
from a generated WAV tone plus a link to its source.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
from PIL import Image

from exporter.config import parse_config
from exporter.media import spectrogram_image
from exporter.pipeline import run_export

N, D = 12, 16
MODALITIES = ("image", "text", "audio")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def triplet_blocks() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    content = rng.normal(size=(N, D))
    offsets = {m: 3.0 * np.eye(D)[i] for i, m in enumerate(MODALITIES)}
    # Audio sits further from text than from image, so the three gaps differ.
    offsets["audio"] = offsets["audio"] + 2.0 * np.eye(D)[0]
    return {m: _unit(content + offsets[m] + 0.2 * rng.normal(size=(N, D))) for m in MODALITIES}


def write_tone(path: Path, hz: float, seconds: float = 0.5, rate: int = 8000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())


def write_triplet_folder(root: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """An `embeddings` dataset folder: pairs.jsonl, images/, spectrograms/, m3/{image,text,audio}.npy."""
    folder = root / "triplets"
    for sub in ("m3", "images", "spectrograms", "wav"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(N):
        Image.new("RGB", (40, 30), (20 * i, 100, 200 - 10 * i)).save(folder / "images" / f"{i}.png")
        write_tone(folder / "wav" / f"{i}.wav", 300 + 150 * i)
        spectrogram_image(folder / "wav" / f"{i}.wav").save(folder / "spectrograms" / f"{i}.png")
        rows.append(
            {
                "id": f"t{i}",
                "text": f"{'dog bark' if i % 2 else 'bird song'} number {i}",
                "image": f"images/{i}.png",
                "credit": f"Frame {i} by a test author, CC BY 2.0",
                "audio": f"AudioSet clip {i}",
                "audio_preview": f"spectrograms/{i}.png",
                "audio_link": f"https://www.youtube.com/watch?v=test{i}",
            }
        )
    (folder / "pairs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    blocks = triplet_blocks()
    for name, block in blocks.items():
        np.save(folder / "m3" / f"{name}.npy", block.astype(np.float32))
    (folder / "m3" / "model.json").write_text(
        json.dumps(
            {"name": "m3", "logit_scale": 20, "import": {"gap_published": 0.5, "alignment_status": "aligned"}}
        ),
        encoding="utf-8",
    )
    return folder, blocks


def export_triplets(root: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """Export the triplet dataset with its one precomputed model into root/out."""
    folder, blocks = write_triplet_folder(root)
    config = parse_config(
        f"""
[export]
projections = ["pca"]
gap_fractions = [0.0, 0.5, 1.0]
clusters = 3
retrieval_k = 5

[[datasets]]
name = "triplets"
kind = "embeddings"
path = "{folder.as_posix()}"

[[models]]
spec = "embeddings:{(folder / "m3").as_posix()}"
label = "three"
slug = "m3"
""",
        root / "export.toml",
    )
    out = root / "out"
    run_export(config, out, cache_dir=root / "cache", device="cpu")
    return out, blocks
