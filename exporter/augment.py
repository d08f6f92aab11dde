"""Augmentation series: how an image's embedding moves as the image is rotated,
blurred, noised or shifted, relative to its caption and to itself.

Two sources feed the same curves:
- any image dataset and any model with an image encoder (`augment_series`):
  the first B items, each augmented in S steps of each augmentation;
- Amumo's published series (`load_series_folder`): ten DiffusionDB images x
  100 steps, recovered from one similarity matrix per (augmentation, image).

Per base image b and step s the figure needs only
    image_caption[b, s]  = cos(image_{b,s}, caption_b)
    image_original[b, s] = cos(image_{b,s}, image_{b,original})
and, where all bases share one embedding frame (our own export), the gap at
each step: the centroid distance between the B step-s images and their B
captions. Amumo published each image's series as its own matrix, so its
recovered frames are unrelated across images and that per-step gap does not
exist; what exists for every series is Amumo's own series gap,
||mean_s image_{b,s} - caption_b|| (the series' 100 images against its 100
identical captions). No matrix per step is kept: B x S numbers per curve.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from exporter.contract import encode_array
from exporter.errors import ExportError, did_you_mean


@dataclass(frozen=True)
class Augmentation:
    name: str
    label: str
    unit: str

    def values(self, steps: int) -> np.ndarray:
        """The parameter of each step (Amumo's definitions, scaled to `steps`)."""
        i = np.arange(steps, dtype=np.float64)
        if self.name == "rotate":
            return 360.0 * i / steps  # degrees
        if self.name == "blur":
            return (
                0.125 * i / max(steps - 1, 1)
            )  # Gaussian radius as a share of the width (Amumo: 0.64 px x i at 512 px)
        if self.name == "noise":
            return i / steps  # weight of uniform noise mixed in
        return np.linspace(-1.0, 1.0, steps)  # shift as a share of the width / height

    def original(self, steps: int) -> int:
        """The step closest to the untouched image (shifts start fully off-frame)."""
        return int(np.argmin(np.abs(self.values(steps)))) if self.name in ("hshift", "vshift") else 0

    def apply(self, image: Image.Image, value: float, rng: np.random.Generator) -> Image.Image:
        width, height = image.size
        if self.name == "rotate":
            return image.rotate(-value, resample=Image.Resampling.BILINEAR)
        if self.name == "blur":
            return (
                image.filter(ImageFilter.GaussianBlur(radius=float(value * width)))
                if value > 0
                else image.copy()
            )
        if self.name == "noise":
            noise = rng.uniform(0, 255, size=(height, width, 3))
            mixed = (1.0 - value) * np.asarray(image, dtype=np.float64) + value * noise
            return Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))
        dx, dy = (round(value * width), 0) if self.name == "hshift" else (0, round(value * height))
        shifted = Image.new("RGB", image.size, (0, 0, 0))
        shifted.paste(image, (dx, dy))
        return shifted


AUGMENTATIONS: dict[str, Augmentation] = {
    a.name: a
    for a in (
        Augmentation("rotate", "rotation", "degrees"),
        Augmentation("blur", "Gaussian blur", "radius / width"),
        Augmentation("noise", "uniform noise", "noise weight"),
        Augmentation("hshift", "horizontal shift", "shift / width"),
        Augmentation("vshift", "vertical shift", "shift / height"),
    )
}


def check_augmentations(names) -> list[Augmentation]:
    out = []
    for name in names:
        if name not in AUGMENTATIONS:
            raise ExportError(f"unknown augmentation '{name}' ({did_you_mean(name, list(AUGMENTATIONS))})")
        out.append(AUGMENTATIONS[name])
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def series_curves(images: np.ndarray, captions: np.ndarray, original: int, *, shared_frame: bool) -> dict:
    """Curves of one augmentation. images: B x S x D (step order), captions: B x D."""
    img, cap = _unit(images), _unit(captions)
    if img.ndim != 3 or cap.shape != (img.shape[0], img.shape[2]):
        raise ExportError(
            f"augmentation series: images must be B x S x D and captions B x D, got {img.shape} and {cap.shape}"
        )
    image_caption = np.einsum("bsd,bd->bs", img, cap)
    image_original = np.einsum("bsd,bd->bs", img, img[:, original])
    series_gap = np.linalg.norm(img.mean(axis=1) - cap, axis=1)
    gap = None
    if shared_frame and img.shape[0] >= 2:
        gap = np.linalg.norm(img.mean(axis=0) - cap.mean(axis=0)[None, :], axis=1)
    return {
        "image_caption": image_caption,
        "image_original": image_original,
        "series_gap": series_gap,
        "gap": gap,
    }


def curves_entry(augmentation: Augmentation, values: np.ndarray, original: int, curves: dict) -> dict:
    """One augmentation of augmentation.json (B x S curves as u1 typed arrays)."""
    return {
        "name": augmentation.name,
        "label": augmentation.label,
        "unit": augmentation.unit,
        "values": [float(v) for v in values],
        "original": int(original),
        "image_caption": encode_array(curves["image_caption"], "u1"),
        "image_original": encode_array(curves["image_original"], "u1"),
        "series_gap": [float(v) for v in curves["series_gap"]],
        "gap": None if curves["gap"] is None else [float(v) for v in curves["gap"]],
        "summary": summarise(curves, original),
    }


def summarise(curves: dict, original: int) -> dict:
    """Means over the base images at the original, the last and the worst step: what the article cites."""
    caption = curves["image_caption"].mean(axis=0)
    itself = curves["image_original"].mean(axis=0)
    out = {
        "image_caption_original": float(caption[original]),
        "image_caption_end": float(caption[-1]),
        "image_caption_min": float(caption.min()),
        "image_caption_max": float(caption.max()),
        "image_original_end": float(itself[-1]),
        "image_original_min": float(itself.min()),
        "series_gap_mean": float(np.mean(curves["series_gap"])),
    }
    if curves["gap"] is not None:
        out |= {"gap_original": float(curves["gap"][original]), "gap_max": float(np.max(curves["gap"]))}
    return out


def augmentation_payload(
    model: str, dataset: str, bases: list[str], entries: list[dict], source: str
) -> dict:
    """augmentation.json; "summary" (by augmentation name) holds the numbers prose may cite."""
    summary = {entry["name"]: entry.pop("summary") for entry in entries}
    return {
        "model": model,
        "dataset": dataset,
        "bases": list(bases),
        "source": source,
        "augmentations": entries,
        "summary": summary,
    }


# ---------------------------------------------------------------- our own models


def augment_series(
    model, items, augmentations: list[Augmentation], *, steps: int, batch_size: int, seed: int
):
    """Embed S steps of each augmentation of each item's image; yields (augmentation, values, original, curves)."""
    if not (model.info.capabilities.encode_images and model.info.capabilities.encode_texts):
        raise ExportError(f"model '{model.info.name}' has no image encoder; augmentation series need one")
    if steps < 2:
        raise ExportError(f"augmentation steps must be at least 2, got {steps}")
    captions = np.asarray(model.encode_texts([item.text for item in items]), dtype=np.float64)
    originals = [item.image() for item in items]
    for augmentation in augmentations:
        values = augmentation.values(steps)
        rng = np.random.default_rng(seed)  # the same noise for every model
        vectors = []
        for image in originals:
            frames = [augmentation.apply(image, float(v), rng) for v in values]
            rows = [model.encode_images(frames[i : i + batch_size]) for i in range(0, steps, batch_size)]
            vectors.append(np.concatenate(rows))
        original = augmentation.original(steps)
        curves = series_curves(np.stack(vectors), captions, original, shared_frame=True)
        yield augmentation, values, original, curves


# ---------------------------------------------------------------- precomputed series (Amumo)


@dataclass
class SeriesFolder:
    root: Path
    meta: dict
    models: dict[str, dict]  # folder name -> model.json


def load_series_folder(root: Path) -> SeriesFolder:
    """<root>/series.json + <root>/<model>/model.json + <root>/<model>/<aug>/<base>.npy ((S+1) x R)."""
    root = Path(root)
    meta_path = root / "series.json"
    if not meta_path.is_file():
        raise ExportError(
            f"{meta_path} not found; an augmentation series folder needs series.json (see exporter/augment.py)"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ExportError(f"{meta_path}: malformed JSON ({error}); fix the file") from error
    for key in ("augmentations", "bases"):
        if not isinstance(meta.get(key), list) or not meta[key]:
            raise ExportError(f"{meta_path}: '{key}' must be a non-empty list")
    models = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "model.json").is_file()):
        models[folder.name] = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    if not models:
        raise ExportError(f"{root}: no model folder with model.json; add one per model")
    return SeriesFolder(root, meta, models)


def precomputed_series(series: SeriesFolder, model_folder: str):
    """Curves of every augmentation for one model of a series folder (each base in its own frame)."""
    for spec in series.meta["augmentations"]:
        name = spec.get("name")
        augmentation = check_augmentations([name])[0]
        images, captions = [], []
        for base in series.meta["bases"]:
            path = series.root / model_folder / name / f"{base['id']}.npy"
            try:
                array = np.load(path, allow_pickle=False).astype(np.float64)
            except (OSError, ValueError) as error:
                raise ExportError(f"{path}: missing or unreadable ({error}); re-run the import") from error
            if array.ndim != 2 or array.shape[0] != len(spec["values"]) + 1:
                raise ExportError(
                    f"{path}: expected {len(spec['values']) + 1} rows (steps, then the caption), got shape {array.shape}"
                )
            images.append(array[:-1])
            captions.append(array[-1])
        rank = max(a.shape[1] for a in images)
        # Bases may keep different ranks; pad with zeros (no inner product changes).
        images = [np.pad(a, ((0, 0), (0, rank - a.shape[1]))) for a in images]
        captions = [np.pad(c, (0, rank - c.shape[0])) for c in captions]
        original = int(spec.get("original", augmentation.original(len(spec["values"]))))
        curves = series_curves(np.stack(images), np.stack(captions), original, shared_frame=False)
        yield augmentation, np.asarray(spec["values"], dtype=np.float64), original, curves, spec
