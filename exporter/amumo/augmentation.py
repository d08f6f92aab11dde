"""`python -m exporter import amumo-augmentation ROOT --out DIR`: Amumo's augmentation series, compact.

Amumo published one 200 x 200 matrix per (augmentation, base image, model):
100 steps of one augmented image paired 100 times with the same prompt. Only
within-series quantities exist (frames recovered from different matrices are
unrelated). The 100 caption rows are one caption repeated (checked), so each
series keeps 101 rows: the steps in order, then the caption. The embeddings
are truncated to the leading directions that keep every cosine within
MAX_ERROR (below the figures' own 8-bit quantisation) and stored as float16.

Output:
    series.json                       augmentations (name, label, unit, values per step, original step),
                                      bases (id, prompt, thumbnail, credit), provenance
    media/<base>.webp                 thumbnails of the base images
    <model>/model.json                label, logit scale, family, per-series checks and errors
    <model>/<augmentation>/<base>.npy float16 (steps + 1) x R
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exporter.amumo.checks import agrees, amumo_loss, gap_distance
from exporter.amumo.convert import SOURCE, THUMBNAIL_PX
from exporter.amumo.folder import open_folder, published_number, read_matrix, read_prompts
from exporter.amumo.models import amumo_model
from exporter.contract import IMPORT_MARKER, IMPORT_MARKER_TEXT, write_bytes_atomic
from exporter.errors import ExportError
from exporter.gram import recover_embeddings
from outfolder import claimed_output

MAX_ERROR = 2e-3  # max |cosine error| after truncation and float16 rounding
SAME_CAPTION = 1e-5  # caption rows must be the same embedding to within this


@dataclass(frozen=True)
class Augmentation:
    name: str
    folder_prefix: str
    label: str
    unit: str
    original: int  # the step closest to the unchanged image

    def values(self, steps: int) -> list[float]:
        # Read from the published images (Amumo's code): see the README of the data.
        i = np.arange(steps)
        if self.name == "rotate":
            return [round(v, 4) for v in (3.6 * i).tolist()]
        if self.name == "blur":
            return [round(v, 4) for v in (0.64 * i).tolist()]
        if self.name == "noise":
            return [round(v, 4) for v in (i / steps).tolist()]
        return [round(v, 6) for v in np.linspace(-1.0, 1.0, steps).tolist()]


AUGMENTATIONS = (
    Augmentation("rotate", "Rotated", "Rotated", "degrees", 0),
    Augmentation("blur", "Blurred", "Gaussian blur", "pixels of blur radius", 0),
    Augmentation("noise", "Noisy", "Uniform noise", "fraction of noise mixed in", 0),
    Augmentation("hshift", "HShift", "Horizontal shift", "image widths", 50),
    Augmentation("vshift", "VShift", "Vertical shift", "image heights", 50),
)
SERIES_FOLDER = re.compile(r"^(?P<prefix>[A-Za-z]+)-(?P<base>\d+)_size-(?P<n>\d+)$")


@dataclass
class SeriesResult:
    model: str
    augmentation: str
    base: str
    vectors: np.ndarray  # (steps + 1) x R float16
    rank: int
    max_error: float
    gap: float
    gap_published: float | None
    loss: float
    loss_published: float | None


def _truncated(sub: np.ndarray, name: str) -> tuple[np.ndarray, float]:
    """The fewest leading directions whose float16 rows keep every cosine within MAX_ERROR."""
    full = recover_embeddings(sub, name=name).vectors
    low, high = 1, full.shape[1]
    while low < high:  # the error falls as directions are added
        mid = (low + high) // 2
        stored = full[:, :mid].astype(np.float16).astype(np.float64)
        if np.max(np.abs(stored @ stored.T - sub)) <= MAX_ERROR:
            high = mid
        else:
            low = mid + 1
    stored = full[:, :low].astype(np.float16)
    wide = stored.astype(np.float64)
    return stored, float(np.max(np.abs(wide @ wide.T - sub)))


def convert_series(folder_path: Path, augmentation: str, base: str) -> tuple[list[SeriesResult], str]:
    folder = open_folder(folder_path)
    results = []
    prompt = None
    for name, path in folder.matrices.items():
        model = amumo_model(name)
        where = f"{folder.name}: model '{name}'"
        matrix = read_matrix(path)
        n = matrix.shape[0] // 2
        if prompt is None:
            prompts = read_prompts(folder.prompts_file, n)
            if len(set(prompts)) != 1:
                raise ExportError(
                    f"{folder.prompts_file}: an augmentation series pairs every step with one prompt"
                )
            prompt = prompts[0]
        recovered = recover_embeddings(matrix, name=where).vectors
        image, text = recovered[:n], recovered[n:]
        meta = folder.meta.get(name, {})
        gap, gap_published = gap_distance(image, text), published_number(meta, "gap_distance")
        loss, loss_published = amumo_loss(image, text, model.logit_scale), published_number(meta, "loss")
        if agrees(gap, gap_published) is False or agrees(loss, loss_published) is False:
            raise ExportError(
                f"{where}: recovered gap {gap:.6f} / loss {loss:.6f} differ from meta_info "
                f"{gap_published} / {loss_published}; the matrix and meta file do not belong together"
            )
        captions = matrix[n:, n:]
        if np.min(captions) < 1.0 - SAME_CAPTION:
            raise ExportError(
                f"{where}: the caption rows are not one repeated embedding; not an augmentation series"
            )
        sub = matrix[: n + 1, : n + 1].astype(np.float64)
        vectors, error = _truncated(sub, where)
        results.append(
            SeriesResult(
                name,
                augmentation,
                base,
                vectors,
                vectors.shape[1],
                error,
                gap,
                gap_published,
                loss,
                loss_published,
            )
        )
    assert prompt is not None
    return results, prompt


def import_augmentation(root: Path, out: Path, *, credit: str = "DiffusionDB (CC0 1.0)") -> dict:
    """Every <Prefix>-<base>_size-N folder under root; base images from root/DiffusionDB_size-N/images."""
    start = time.perf_counter()
    root = Path(root)
    by_prefix = {a.folder_prefix: a for a in AUGMENTATIONS}
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        match = SERIES_FOLDER.match(path.name)
        if match and match["prefix"] in by_prefix and (path / "similarities").is_dir():
            found[(by_prefix[match["prefix"]].name, match["base"])] = path
    if not found:
        raise ExportError(
            f"{root}: no augmentation series folders (Rotated-<k>_size-N, Blurred-..., ...); give the folder holding them"
        )
    results: list[SeriesResult] = []
    prompts: dict[str, str] = {}
    steps = None
    for (augmentation, base), path in found.items():
        series, prompt = convert_series(path, augmentation, base)
        if prompts.setdefault(base, prompt) != prompt:
            raise ExportError(f"{path}: prompt differs from the other series of base image {base}")
        results.extend(series)
        steps = series[0].vectors.shape[0] - 1
    bases = sorted(prompts, key=int)
    with claimed_output(
        Path(out), marker=IMPORT_MARKER, marker_text=IMPORT_MARKER_TEXT, tool="the importer"
    ) as staging:
        base_entries = []
        for base in bases:
            entry = {"id": base, "text": prompts[base], "credit": credit, "image": None}
            source = next(root.glob(f"DiffusionDB_size-*/images/{base}.jpg"), None)
            if source is not None:
                from exporter.datasets.base import open_rgb
                from exporter.thumbnails import encode_thumbnail

                write_bytes_atomic(
                    staging / "media" / f"{base}.webp", encode_thumbnail(open_rgb(source), THUMBNAIL_PX)
                )
                entry["image"] = f"media/{base}.webp"
            base_entries.append(entry)
        used = [a for a in AUGMENTATIONS if any(r.augmentation == a.name for r in results)]
        series_json = {
            "source": SOURCE,
            "steps": steps,
            "max_error": MAX_ERROR,
            "augmentations": [
                {
                    "name": a.name,
                    "label": a.label,
                    "unit": a.unit,
                    "values": a.values(steps),
                    "original": a.original,
                }
                for a in used
            ],
            "bases": base_entries,
            "note": "Rows 0..steps-1 of each file are the augmented image in step order, the last row its "
            "prompt. Noise was unseeded in Amumo's code; shifts move by linspace(-1, 1, steps) image sizes, "
            "so steps 0 and 99 are black and step 50 (1% of the size) is the closest to the original.",
        }
        (staging / "series.json").write_text(
            json.dumps(series_json, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        for name in sorted({r.model for r in results}):
            model = amumo_model(name)
            mine = [r for r in results if r.model == name]
            for r in mine:
                buffer = io.BytesIO()
                np.save(buffer, np.ascontiguousarray(r.vectors))
                write_bytes_atomic(staging / name / r.augmentation / f"{r.base}.npy", buffer.getvalue())
            meta = {
                "name": model.label,
                "amumo_name": name,
                "family": model.family,
                "objective": model.objective,
                "weights": model.weights,
                "logit_scale": model.logit_scale,
                "description": model.description,
                "series": {
                    f"{r.augmentation}/{r.base}": {
                        "rank": r.rank,
                        "max_error": r.max_error,
                        "gap": r.gap,
                        "gap_published": r.gap_published,
                        "loss": r.loss,
                        "loss_published": r.loss_published,
                    }
                    for r in mine
                },
            }
            (staging / name / "model.json").write_text(
                json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
            )
    return {
        "series": len(found),
        "models": sorted({r.model for r in results}),
        "files": len(results),
        "max_error": max(r.max_error for r in results),
        "mean_rank": float(np.mean([r.rank for r in results])),
        "seconds": time.perf_counter() - start,
    }
