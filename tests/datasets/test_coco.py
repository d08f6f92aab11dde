from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.datasets import load_dataset
from exporter.datasets.coco import select_pairs
from exporter.errors import ExportError

from ._support import Cfg
from .coco_tree import write_coco_tree


def test_seeded_selection_first_caption(tmp_path: Path) -> None:
    write_coco_tree(tmp_path, 12)
    a = load_dataset(Cfg("coco", "coco", {"path": str(tmp_path), "n": 5}), seed=31415)
    b = load_dataset(Cfg("coco", "coco", {"path": str(tmp_path), "n": 5}), seed=31415)
    c = load_dataset(Cfg("coco", "coco", {"path": str(tmp_path), "n": 5}), seed=2)
    assert [i.id for i in a.items] == [i.id for i in b.items]
    assert [i.id for i in a.items] != [i.id for i in c.items]
    assert [int(i.id) for i in a.items] == sorted(int(i.id) for i in a.items)
    assert all(" version 0." in item.text for item in a.items)  # the first caption
    assert a.items[0].image().size == (32, 24)


def test_random_caption_and_word_filter(tmp_path: Path) -> None:
    data = write_coco_tree(tmp_path, 12)
    pairs = select_pairs(data, n=3, seed=5, caption="first", word_filter="dog")
    assert all(p.caption.startswith("A dog ") for p in pairs)  # "dogs" is not the word "dog"
    random_pairs = select_pairs(data, n=12, seed=5, caption="random")
    assert any("version 0" not in p.caption for p in random_pairs)
    assert all("\n" not in p.caption for p in random_pairs)
    assert random_pairs == select_pairs(data, n=12, seed=5, caption="random")
    with pytest.raises(ExportError, match="only 3 images whose caption contains 'dog', fewer than n=4"):
        select_pairs(data, n=4, seed=5, word_filter="dog")


def test_missing_image_names_file_and_fetch_command(tmp_path: Path) -> None:
    write_coco_tree(tmp_path, 6)
    for path in (tmp_path / "val2017").glob("*.jpg"):
        path.unlink()
        break
    options = {"path": str(tmp_path), "n": 6}
    with pytest.raises(
        ExportError, match=r"000000001000\.jpg not found; fetch it with `python -m exporter fetch coco"
    ):
        load_dataset(Cfg("coco", "coco", options), seed=1)
    dataset = load_dataset(Cfg("coco", "coco", options), seed=1, skip_bad=True)
    assert len(dataset.items) == 5 and len(dataset.skipped) == 1


def test_bad_annotation_files(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="captions file not found; run `python -m exporter fetch coco"):
        load_dataset(Cfg("coco", "coco", {"path": str(tmp_path)}), seed=1)
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "captions_val2017.json").write_text(
        json.dumps({"images": []}), encoding="utf-8"
    )
    with pytest.raises(ExportError, match="not a COCO captions file"):
        load_dataset(Cfg("coco", "coco", {"path": str(tmp_path)}), seed=1)
    with pytest.raises(ExportError, match="caption must be 'first' or 'random'"):
        select_pairs({"images": [], "annotations": []}, n=1, seed=1, caption="last")
    with pytest.raises(ExportError, match="unknown option 'fliter'.*did you mean 'filter'"):
        load_dataset(Cfg("coco", "coco", {"path": str(tmp_path), "fliter": "dog"}), seed=1)
