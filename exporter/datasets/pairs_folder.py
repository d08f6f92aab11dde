"""`pairs`: a folder with pairs.jsonl or pairs.csv (id, image, text, optional label).

Image paths are relative to the pairs file. Further columns (another
modality's file, a source URL...) are kept in PairItem.extra. Every bad row
raises ExportError naming the file and row; with skip_bad it is skipped and
listed in PairDataset.skipped instead.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from exporter.datasets.base import (
    PairDataset,
    PairItem,
    check_unknown_options,
    classes_from_labels,
    image_loader,
    option,
    sha256_bytes,
)
from exporter.errors import ExportError

REQUIRED = ("id", "image", "text")
PAIR_FILES = ("pairs.jsonl", "pairs.csv")


class RowError(Exception):
    """One bad row: skippable under skip_bad."""


def find_pairs_file(path: Path, where: str) -> Path:
    if path.is_file():
        return path
    if not path.is_dir():
        raise ExportError(f"{where}: {path} not found; set 'path' to a folder with pairs.jsonl or pairs.csv")
    present = [path / name for name in PAIR_FILES if (path / name).is_file()]
    if not present:
        raise ExportError(
            f"{where}: {path} has neither pairs.jsonl nor pairs.csv; add one (columns id, image, text)"
        )
    if len(present) > 1:
        raise ExportError(f"{where}: {path} has both pairs.jsonl and pairs.csv; keep one of them")
    return present[0]


def read_rows(path: Path) -> list[tuple[int, dict[str, Any] | RowError]]:
    """(line/row number, row or the reason it is unreadable) for a .jsonl or .csv file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ExportError(f"{path}: not UTF-8 text ({error}); save it as UTF-8") from error
    rows: list[tuple[int, dict[str, Any] | RowError]] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        missing = [column for column in REQUIRED if column not in header]
        if missing:
            raise ExportError(
                f"{path}: missing column(s) {', '.join(missing)}; the header must name id, image, text (label optional)"
            )
        for row in reader:
            # csv reports the physical line of the row's end; the header is line 1.
            if None in row:
                rows.append((reader.line_num, RowError("more values than header columns")))
            else:
                rows.append((reader.line_num, dict(row)))
        return rows
    if path.suffix.lower() != ".jsonl":
        raise ExportError(f"{path}: unsupported pairs file type; use pairs.jsonl or pairs.csv")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append((number, RowError(f"malformed JSON ({error.msg})")))
            continue
        if not isinstance(value, dict):
            rows.append((number, RowError("each line must be a JSON object")))
            continue
        rows.append((number, value))
    return rows


def verify_image(path: Path) -> str:
    """Hash of the image bytes after a cheap check that it is an image at all."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise RowError(f"image {path} not found") from error
    except OSError as error:
        raise RowError(f"cannot read image {path} ({error})") from error
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise RowError(f"unreadable image {path} ({error})") from error
    return sha256_bytes(data)


def build_item(row: dict[str, Any], base: Path, *, need_image: bool = True) -> PairItem:
    for column in REQUIRED if need_image else ("id", "text"):
        if column not in row or row[column] is None:
            raise RowError(f"missing '{column}'")
    item_id = str(row["id"]).strip()
    if not item_id:
        raise RowError("empty id")
    text = str(row["text"]).strip()
    if not text:
        raise RowError(f"empty caption for id '{item_id}'")
    label = row.get("label")
    label = str(label).strip() if label not in (None, "") else None
    image_value = row.get("image")
    if image_value in (None, ""):
        if need_image:
            raise RowError(f"empty image path for id '{item_id}'")
        image, image_key = None, ""
    else:
        image_path = (base / str(image_value)).resolve()
        image_key = verify_image(image_path)
        image = image_loader(image_path)
    extra = {
        str(k): str(v) for k, v in row.items() if k not in ("id", "image", "text", "label") and v is not None
    }
    for key, value in extra.items():
        if key.endswith("_preview"):  # an image depicting another modality (exporter/media.py)
            extra[key] = str((base / value).resolve())
    return PairItem(id=item_id, text=text, image=image, image_key=image_key, label=label, extra=extra)


def collect_items(path: Path, *, skip_bad: bool, need_image: bool = True) -> tuple[list[PairItem], list[str]]:
    """Validated items of a pairs file plus the rows skipped (with skip_bad)."""
    items: list[PairItem] = []
    skipped: list[str] = []
    seen: dict[str, int] = {}
    for number, row in read_rows(path):
        try:
            if isinstance(row, RowError):
                raise row
            item = build_item(row, path.parent, need_image=need_image)
            if item.id in seen:
                raise RowError(f"duplicate id '{item.id}' (first on row {seen[item.id]})")
            seen[item.id] = number
            items.append(item)
        except RowError as error:
            message = f"{path}: row {number}: {error}"
            if not skip_bad:
                raise ExportError(f"{message}; fix the row or pass --skip-bad") from error
            skipped.append(message)
    return items, skipped


def subsample(items: list[PairItem], n: int | None, seed: int, where: str) -> list[PairItem]:
    """n items drawn with the seed, kept in file order; all items when n is None."""
    if n is None:
        return items
    if n < 1:
        raise ExportError(f"{where}: option 'n' must be positive, got {n}")
    if n >= len(items):
        return items
    chosen = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in chosen]


def load_pairs_folder(
    name: str, options: dict[str, Any], *, seed: int, skip_bad: bool = False
) -> PairDataset:
    where = f"dataset '{name}' (pairs)"
    check_unknown_options(options, {"path", "n", "description"}, where)
    path_text = option(options, "path", str, None, where)
    if not path_text:
        raise ExportError(f"{where}: missing option 'path' (a folder with pairs.jsonl or pairs.csv)")
    pairs_file = find_pairs_file(Path(path_text).expanduser(), where)
    items, skipped = collect_items(pairs_file, skip_bad=skip_bad)
    items = subsample(items, option(options, "n", int, None, where), seed, where)
    return PairDataset(
        name=name,
        kind="pairs",
        description=options.get("description", f"Image-caption pairs from {pairs_file.name}"),
        items=items,
        classes=classes_from_labels(items),
        skipped=skipped,
    )
