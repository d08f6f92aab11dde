from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from exporter.datasets import load_dataset
from exporter.errors import ExportError

from ._support import Cfg


def _images(folder: Path, n: int) -> None:
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (10 + i, 8), (10 * i, 50, 200 - 10 * i)).save(folder / "img" / f"{i}.png")


def _jsonl(folder: Path, rows: list[dict]) -> Path:
    path = folder / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _rows(n: int) -> list[dict]:
    return [
        {
            "id": f"r{i}",
            "image": f"img/{i}.png",
            "text": f"caption {i}",
            "label": "even" if i % 2 == 0 else "odd",
        }
        for i in range(n)
    ]


def test_jsonl_with_labels_and_extra(tmp_path: Path) -> None:
    _images(tmp_path, 4)
    rows = _rows(4)
    rows[1]["audio"] = "sounds/1.wav"
    _jsonl(tmp_path, rows)
    dataset = load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1)
    assert [i.id for i in dataset.items] == ["r0", "r1", "r2", "r3"]
    assert dataset.classes == ["even", "odd"]
    assert dataset.items[1].extra == {"audio": "sounds/1.wav"}
    assert dataset.items[2].image().size == (12, 8)
    assert len({i.image_key for i in dataset.items}) == 4


def test_csv_and_seeded_subsample(tmp_path: Path) -> None:
    _images(tmp_path, 6)
    with open(tmp_path / "pairs.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "image", "text"])
        writer.writeheader()
        for row in _rows(6):
            writer.writerow({k: row[k] for k in ("id", "image", "text")})
    full = load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1)
    assert len(full.items) == 6 and full.classes is None
    a = load_dataset(Cfg("p", "pairs", {"path": str(tmp_path), "n": 3}), seed=7)
    b = load_dataset(Cfg("p", "pairs", {"path": str(tmp_path), "n": 3}), seed=7)
    assert [i.id for i in a.items] == [i.id for i in b.items] and len(a.items) == 3


def test_csv_missing_column(tmp_path: Path) -> None:
    (tmp_path / "pairs.csv").write_text("id,picture,text\na,x.png,hello\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"pairs.csv: missing column\(s\) image"):
        load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda rows: rows[2].update(id="r0"), r"row 3: duplicate id 'r0' \(first on row 1\)"),
        (lambda rows: rows[1].update(text="  "), "row 2: empty caption for id 'r1'"),
        (lambda rows: rows[3].update(image="img/missing.png"), "row 4: image .*missing.png not found"),
        (lambda rows: rows[0].pop("text"), "row 1: missing 'text'"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, mutate, needle: str) -> None:
    _images(tmp_path, 4)
    rows = _rows(4)
    mutate(rows)
    _jsonl(tmp_path, rows)
    with pytest.raises(ExportError, match=needle):
        load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1)


def test_unreadable_image_and_skip_bad(tmp_path: Path) -> None:
    _images(tmp_path, 4)
    (tmp_path / "img" / "2.png").write_bytes(b"this is no image")
    path = _jsonl(tmp_path, _rows(4))
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    with pytest.raises(ExportError, match=r"row 3: unreadable image .*2\.png"):
        load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1)
    dataset = load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1, skip_bad=True)
    assert [i.id for i in dataset.items] == ["r0", "r1", "r3"]
    assert len(dataset.skipped) == 2
    assert "row 3" in dataset.skipped[0] and "row 5: malformed JSON" in dataset.skipped[1]


def test_folder_problems(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="missing option 'path'"):
        load_dataset(Cfg("p", "pairs", {}), seed=1)
    with pytest.raises(ExportError, match="neither pairs.jsonl nor pairs.csv"):
        load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1)
    (tmp_path / "pairs.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "pairs.csv").write_text("id,image,text\n", encoding="utf-8")
    with pytest.raises(ExportError, match="both pairs.jsonl and pairs.csv"):
        load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1)
    (tmp_path / "pairs.csv").unlink()
    with pytest.raises(ExportError, match="no pairs left"):
        load_dataset(Cfg("p", "pairs", {"path": str(tmp_path)}), seed=1)
