from __future__ import annotations

import pytest

from exporter.datasets import list_dataset_kinds, load_dataset
from exporter.errors import ExportError

from ._support import Cfg


def test_samples_are_real_photographs_with_captions() -> None:
    dataset = load_dataset(Cfg("samples", "samples"), seed=31415)
    assert len(dataset.items) >= 12
    ids = [item.id for item in dataset.items]
    assert len(set(ids)) == len(ids)
    assert {"astronaut", "chelsea", "coffee", "rocket"} <= set(ids)
    assert set(dataset.classes) == {item.label for item in dataset.items}
    keys = {item.image_key for item in dataset.items}
    assert len(keys) == len(dataset.items)
    for item in dataset.items:
        assert len(item.text.split()) >= 5
        image = item.image()
        assert image.mode == "RGB" and min(image.size) >= 100
    assert dataset.classes


def test_samples_n_and_bad_options() -> None:
    assert len(load_dataset(Cfg("s", "samples", {"n": 12}), seed=1).items) == 12
    with pytest.raises(ExportError, match="option 'n' must be between 1 and"):
        load_dataset(Cfg("s", "samples", {"n": 500}), seed=1)
    with pytest.raises(ExportError, match="unknown option 'nn'.*did you mean 'n'"):
        load_dataset(Cfg("s", "samples", {"nn": 3}), seed=1)


def test_unknown_kind_suggests_closest() -> None:
    with pytest.raises(ExportError, match="unknown dataset kind 'sample'.*did you mean 'samples'"):
        load_dataset(Cfg("x", "sample"), seed=1)
    assert {name for name, _ in list_dataset_kinds()} == {"samples", "shapes", "pairs", "coco", "embeddings"}
