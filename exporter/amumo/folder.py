"""Reading one Amumo `exported_data/<DATASET>` folder, quirks included.

- N is counted from the matrices (rows / modalities), never from prompts.txt:
  a caption may itself contain a line break.
- projections.csv carries stray pandas index columns ("", "Unnamed: 0"); only
  the named columns are read (`data_type` gives the modalities in stacked order).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exporter.errors import ExportError
from exporter.gram import read_similarity_file

DEFAULT_MODALITIES = ("image", "text")
MATRIX_SUFFIXES = (".csv", ".npy")


@dataclass
class AmumoFolder:
    root: Path
    name: str
    modalities: tuple[str, ...]
    matrices: dict[str, Path]  # model name -> similarity file (not the _nogap ones)
    meta: dict[str, dict]  # model name -> <model>_meta_info.json
    prompts_file: Path
    extra_files: dict[str, Path] = field(default_factory=dict)  # coco_provenance.json, infos.csv


def _read_json(path: Path) -> dict:
    try:
        # Python's json reads NaN, which Amumo writes for losses over fewer than 50 pairs.
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(f"{path}: unreadable JSON ({error}); restore the file from Amumo's data") from error
    if not isinstance(value, dict):
        raise ExportError(f"{path}: expected a JSON object with gap_distance and loss")
    return value


def projection_modalities(path: Path) -> tuple[str, ...] | None:
    """Modalities in stacked order from projections.csv's `data_type` column (by name)."""
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if "data_type" not in (reader.fieldnames or []):
                raise ExportError(f"{path}: no 'data_type' column; cannot tell the modalities apart")
            order: list[str] = []
            for row in reader:
                kind = (row["data_type"] or "").strip()
                if kind and (not order or order[-1] != kind):
                    if kind in order:
                        raise ExportError(
                            f"{path}: modality '{kind}' appears in two separate runs of rows; "
                            "rows must be stacked modality by modality"
                        )
                    order.append(kind)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ExportError(f"{path}: unreadable CSV ({error})") from error
    return tuple(order) or None


def open_folder(root: Path) -> AmumoFolder:
    root = Path(root)
    if not root.is_dir():
        raise ExportError(f"{root}: folder not found; give one dataset folder of Amumo's exported_data")
    folder = root / "similarities"
    if not folder.is_dir():
        raise ExportError(
            f"{root}: no similarities/ folder; is this an Amumo exported_data/<DATASET> folder?"
        )
    matrices: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in MATRIX_SUFFIXES and not path.stem.endswith("_nogap"):
            if path.stem in matrices:
                raise ExportError(f"{folder}: both {matrices[path.stem].name} and {path.name}; keep one")
            matrices[path.stem] = path
    if not matrices:
        raise ExportError(f"{folder}: no <MODEL>.csv or <MODEL>.npy similarity matrices")
    meta = {}
    for model in matrices:
        meta_path = folder / f"{model}_meta_info.json"
        meta[model] = _read_json(meta_path) if meta_path.is_file() else {}
    prompts = root / "prompts.txt"
    if not prompts.is_file():
        raise ExportError(f"{root}: prompts.txt not found; it lists the second modality's items")
    modalities = projection_modalities(root / "projections.csv") or DEFAULT_MODALITIES
    extra = {p.name: p for p in (root / "coco_provenance.json", root / "infos.csv") if p.is_file()}
    return AmumoFolder(root, root.name, modalities, matrices, meta, prompts, extra)


def read_prompts(path: Path, n: int) -> list[str]:
    """n captions from prompts.txt, one per item, where a caption may span lines.

    Amumo wrote "\\n".join(prompts). A caption that ends in (or holds) a line
    break therefore adds lines; with more lines than items, blank lines are
    taken to continue the caption before them. Anything still ambiguous is refused.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's own final newline
    if len(lines) < n:
        raise ExportError(f"{path}: {len(lines)} lines for {n} items; the captions file is incomplete")
    captions: list[str] = []
    surplus = len(lines) - n
    for line in lines:
        if surplus and captions and not line.strip():
            captions[-1] += "\n"
            surplus -= 1
        else:
            captions.append(line)
    if len(captions) != n:
        raise ExportError(
            f"{path}: {len(lines)} lines for {n} items and the extra lines are not blank continuations; "
            "cannot tell which captions span lines"
        )
    cleaned = [" ".join(caption.split()) for caption in captions]
    empty = [i for i, caption in enumerate(cleaned) if not caption]
    if empty:
        raise ExportError(f"{path}: caption of item {empty[0]} is empty")
    return cleaned


def read_matrix(path: Path) -> np.ndarray:
    return read_similarity_file(path)


def published_number(meta: dict, key: str) -> float | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExportError(f"meta_info '{key}' must be a number, not {value!r}")
    return float(value) if not math.isnan(value) else math.nan
