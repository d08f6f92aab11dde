"""`coco`: MS-COCO captions (captions_val2017.json) and the val2017 image folder.

n pairs are drawn with the seed (Amumo used 100 pairs and seed 31415), one
caption per image — the first in the annotation file or a seeded random one —
optionally only images whose chosen caption contains a word (Amumo's "dog"
subset). The same selection function drives `python -m exporter fetch coco`,
so fetching and exporting with the same n/seed/filter agree on the images.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exporter.datasets.base import PairDataset, PairItem, check_unknown_options, image_loader, option
from exporter.datasets.pairs_folder import RowError, verify_image
from exporter.datasets.shared_options import CaptionFilter, parse_filter
from exporter.errors import ExportError

ANNOTATIONS_FILE = Path("annotations") / "captions_val2017.json"
IMAGES_FOLDER = Path("val2017")
DEFAULT_N = 100
CAPTION_MODES = ("first", "random")


@dataclass(frozen=True)
class CocoPair:
    image_id: int
    file_name: str
    caption: str


def read_annotations(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ExportError(
            f"{path}: COCO captions file not found; run `python -m exporter fetch coco --out DIR` "
            "or set 'annotations' to your captions_val2017.json"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ExportError(f"{path}: malformed JSON ({error}); download the annotations again") from error
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("images"), list)
        or not isinstance(data.get("annotations"), list)
    ):
        raise ExportError(f"{path}: not a COCO captions file (needs 'images' and 'annotations' lists)")
    return data


def caption_table(data: dict[str, Any], where: str) -> tuple[dict[int, str], dict[int, list[str]]]:
    """image id -> file name, image id -> captions in file order."""
    files: dict[int, str] = {}
    for entry in data["images"]:
        try:
            files[int(entry["id"])] = str(entry["file_name"])
        except (KeyError, TypeError, ValueError) as error:
            raise ExportError(f"{where}: image entry {entry!r:.80} lacks 'id' or 'file_name'") from error
    captions: dict[int, list[str]] = {}
    for entry in data["annotations"]:
        try:
            image_id, text = int(entry["image_id"]), str(entry["caption"])
        except (KeyError, TypeError, ValueError) as error:
            raise ExportError(f"{where}: annotation {entry!r:.80} lacks 'image_id' or 'caption'") from error
        # COCO captions carry stray spaces and newlines; one clean line each.
        text = " ".join(text.split())
        if text:
            captions.setdefault(image_id, []).append(text)
    return files, captions


def select_pairs(
    data: dict[str, Any],
    *,
    n: int,
    seed: int,
    caption: str = "first",
    word_filter: str | CaptionFilter | None = None,
    where: str = "coco",
) -> list[CocoPair]:
    """The n (image, caption) pairs for a seed, sorted by image id."""
    if caption not in CAPTION_MODES:
        raise ExportError(f"{where}: caption must be 'first' or 'random', not {caption!r}")
    if n < 1:
        raise ExportError(f"{where}: n must be positive, got {n}")
    files, captions = caption_table(data, where)
    keeps = None
    if word_filter:
        keeps = (CaptionFilter((word_filter,)) if isinstance(word_filter, str) else word_filter).keeps
    candidates: list[CocoPair] = []
    for image_id in sorted(captions):
        if image_id not in files:
            continue
        options = captions[image_id]
        # Seeded per image, so an image's caption does not depend on n or on the filter.
        chosen = options[0] if caption == "first" else random.Random(f"{seed}:{image_id}").choice(options)
        if keeps is None or keeps(chosen):
            candidates.append(CocoPair(image_id, files[image_id], chosen))
    if len(candidates) < n:
        if isinstance(word_filter, CaptionFilter):
            what = " with " + word_filter.describe()
        else:
            what = f" whose caption contains '{word_filter}'" if word_filter else " with captions"
        raise ExportError(f"{where}: only {len(candidates)} images{what}, fewer than n={n}; lower n")
    picked = random.Random(seed).sample(candidates, n)
    return sorted(picked, key=lambda pair: pair.image_id)


def load_coco(name: str, options: dict[str, Any], *, seed: int, skip_bad: bool = False) -> PairDataset:
    where = f"dataset '{name}' (coco)"
    allowed = {"path", "annotations", "images", "n", "caption", "filter", "match", "seed", "description"}
    check_unknown_options(options, allowed, where)
    root = Path(option(options, "path", str, ".", where)).expanduser()
    annotations = Path(option(options, "annotations", str, str(root / ANNOTATIONS_FILE), where)).expanduser()
    images = Path(option(options, "images", str, str(root / IMAGES_FOLDER), where)).expanduser()
    n = option(options, "n", int, DEFAULT_N, where)
    caption = option(options, "caption", str, "first", where)
    word = parse_filter(options, where)
    seed = option(options, "seed", int, seed, where)
    pairs = select_pairs(
        read_annotations(annotations), n=n, seed=seed, caption=caption, word_filter=word, where=where
    )
    items: list[PairItem] = []
    skipped: list[str] = []
    for pair in pairs:
        path = images / pair.file_name
        try:
            key = verify_image(path)
        except RowError as error:
            message = f"{where}: image {pair.image_id}: {error}"
            if not skip_bad:
                raise ExportError(
                    f"{message}; fetch it with `python -m exporter fetch coco --out {root} --n {n} --seed {seed}"
                    f"{word.fetch_args() if word else ''}` or pass --skip-bad"
                ) from error
            skipped.append(message)
            continue
        items.append(
            PairItem(id=str(pair.image_id), text=pair.caption, image=image_loader(path), image_key=key)
        )
    subset = f", {word.describe()}" if word else ""
    return PairDataset(
        name=name,
        kind="coco",
        description=options.get(
            "description", f"{n} MS-COCO val2017 image-caption pairs ({caption} caption, seed {seed}{subset})"
        ),
        items=items,
        skipped=skipped,
    )
