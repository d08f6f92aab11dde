from __future__ import annotations

import time
from pathlib import Path

import pytest

from exporter.datasets import load_dataset
from exporter.errors import ExportError
from exporter.fetch_coco import coco_urls, download, fetch_coco

from ._support import Cfg
from .coco_tree import serve, write_coco_tree


@pytest.fixture()
def mirror(tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    write_coco_tree(root, 12)
    return root


def test_fetch_from_zip_then_export_same_selection(mirror: Path, tmp_path: Path) -> None:
    out = tmp_path / "coco"
    with serve(mirror) as (url, log):
        annotations_url, images_url = coco_urls(url)
        result = fetch_coco(
            out,
            n=4,
            seed=9,
            word_filter=None,
            annotations_url=annotations_url,
            images_url=images_url,
            progress=False,
        )
        assert len(result.downloaded) == 4 and result.annotations.is_file()
        # Only the chosen images were requested.
        requested = [path for path, _ in log if path.startswith("/val2017/")]
        assert len(requested) == 4
        again = fetch_coco(
            out, n=4, seed=9, annotations_url=annotations_url, images_url=images_url, progress=False
        )
        assert again.downloaded == [] and len(again.already_present) == 4
        assert len([p for p, _ in log if p.startswith("/val2017/")]) == 4  # nothing re-downloaded
    assert not list(out.rglob("*.part"))
    dataset = load_dataset(Cfg("coco", "coco", {"path": str(out), "n": 4}), seed=9)
    assert sorted(i.id for i in dataset.items) == sorted(str(p.image_id) for p in result.pairs)
    for pair in result.pairs:
        assert (out / "val2017" / pair.file_name).read_bytes() == (
            mirror / "val2017" / pair.file_name
        ).read_bytes()


def test_direct_json_url_and_filter(mirror: Path, tmp_path: Path) -> None:
    with serve(mirror) as (url, _):
        result = fetch_coco(
            tmp_path / "c",
            n=2,
            seed=1,
            word_filter="dog",
            annotations_url=url + "annotations/captions_val2017.json",
            images_url=url + "val2017",
            progress=False,
        )
    assert all(p.caption.startswith("A dog") for p in result.pairs)


def test_partial_file_resumes_with_range(mirror: Path, tmp_path: Path) -> None:
    source = mirror / "annotations" / "annotations_trainval2017.zip"
    dest = tmp_path / "a.zip"
    full = source.read_bytes()
    (tmp_path / "a.zip.part").write_bytes(full[:100])
    with serve(mirror) as (url, log):
        assert download(url + "annotations/annotations_trainval2017.zip", dest, progress=False)
    assert dest.read_bytes() == full
    assert log[-1][1] == "bytes=100-"


def test_server_without_ranges_restarts(mirror: Path, tmp_path: Path) -> None:
    source = mirror / "val2017" / "000000001000.jpg"
    dest = tmp_path / "x.jpg"
    (tmp_path / "x.jpg.part").write_bytes(b"stale bytes that are not a prefix")
    with serve(mirror, honour_ranges=False) as (url, _):
        download(url + "val2017/000000001000.jpg", dest, progress=False)
    assert dest.read_bytes() == source.read_bytes()


def test_missing_file_and_dead_server(mirror: Path, tmp_path: Path) -> None:
    with serve(mirror) as (url, _):
        with pytest.raises(ExportError, match=r"nothing\.jpg: download failed \(HTTP 404"):
            download(url + "val2017/nothing.jpg", tmp_path / "n.jpg", progress=False)
    assert not (tmp_path / "n.jpg").exists()
    start = time.monotonic()
    with pytest.raises(ExportError, match="download failed .*check the network or --base-url"):
        fetch_coco(tmp_path / "d", n=1, seed=1, annotations_url=url + "a.zip", images_url=url, progress=False)
    assert time.monotonic() - start < 5


def test_damaged_zip(mirror: Path, tmp_path: Path) -> None:
    (mirror / "annotations" / "annotations_trainval2017.zip").write_bytes(b"PK not really")
    with serve(mirror) as (url, _):
        annotations_url, images_url = coco_urls(url)
        with pytest.raises(ExportError, match="damaged zip .*delete it and rerun"):
            fetch_coco(
                tmp_path / "z",
                n=1,
                seed=1,
                annotations_url=annotations_url,
                images_url=images_url,
                progress=False,
            )
