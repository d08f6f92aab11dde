from __future__ import annotations

import pytest

from exporter.datasets import load_dataset

from ._support import Cfg

pytest.importorskip("exporter.pocket.scenes")


def test_shapes_adapter_is_seeded_and_labelled() -> None:
    a = load_dataset(Cfg("shapes", "shapes", {"n": 12}), seed=31415)
    b = load_dataset(Cfg("shapes", "shapes", {"n": 12}), seed=31415)
    assert len(a.items) == 12
    assert [i.image_key for i in a.items] == [i.image_key for i in b.items]
    assert all(item.label in a.classes for item in a.items)
    assert a.items[0].image().mode == "RGB"
    assert a.items[0].text.strip()
