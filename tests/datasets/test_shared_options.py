"""Options every dataset kind takes: the caption filter (words, any/all) and zero-shot templates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exporter.datasets import load_dataset
from exporter.datasets.coco import select_pairs
from exporter.datasets.shared_options import CaptionFilter, check_templates_readable
from exporter.errors import ExportError
from exporter.models.base import ModelInfo
from exporter.pocket.tokenizer import WordTokenizer

from ._support import Cfg
from .coco_tree import write_coco_tree

CAPTIONS = {
    "a": ("a red dog on grass", "dog"),
    "b": ("a blue cat asleep", "cat"),
    "c": ("a red cat and a dog", "cat"),
    "d": ("the dog chased the cat", "dog"),
    "e": ("hotdogs on a red plate", "food"),  # "hotdogs" is not the word "dog"
}


def _pairs(root: Path) -> Path:
    (root / "img").mkdir(parents=True)
    rows = []
    for index, (item_id, (text, label)) in enumerate(CAPTIONS.items()):
        Image.new("RGB", (12, 10), (40 * index, 90, 120)).save(root / "img" / f"{item_id}.png")
        rows.append({"id": item_id, "image": f"img/{item_id}.png", "text": text, "label": label})
    (root / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("words", "match", "kept"),
    [
        (["red"], "any", ["a", "c", "e"]),
        (["DOG"], "any", ["a", "c", "d"]),
        (["dog", "cat"], "any", ["a", "b", "c", "d"]),
        (["dog", "cat"], "all", ["c", "d"]),
    ],
)
def test_filter_on_a_pairs_folder(words, match, kept, tmp_path: Path) -> None:
    root = _pairs(tmp_path / "p")
    options = {"path": str(root), "filter": words, "match": match}
    dataset = load_dataset(Cfg("p", "pairs", options), seed=1)
    assert [item.id for item in dataset.items] == kept
    assert dataset.classes == sorted({CAPTIONS[i][1] for i in kept})  # only labels still present
    assert "captions containing" in dataset.description


def test_filter_keeps_precomputed_rows_aligned(tmp_path: Path) -> None:
    root = tmp_path / "e"
    (root / "m").mkdir(parents=True)
    rows = [{"id": k, "text": text} for k, (text, _) in CAPTIONS.items()]
    (root / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # Row i of every modality is the number i, so alignment is visible.
    for modality in ("image", "text"):
        np.save(root / "m" / f"{modality}.npy", np.arange(5, dtype=np.float32)[:, None] + np.ones((5, 4)))
    options = {"path": str(root), "filter": "cat"}
    dataset = load_dataset(Cfg("e", "embeddings", options), seed=1)
    assert [item.id for item in dataset.items] == ["b", "c", "d"]
    for block in dataset.precomputed["m"].values():
        assert block[:, 0].tolist() == [2.0, 3.0, 4.0]


def test_filter_on_samples(tmp_path: Path) -> None:
    dataset = load_dataset(Cfg("s", "samples", {"filter": ["photo", "grayscale"], "match": "all"}), seed=1)
    assert [item.id for item in dataset.items] == ["coins", "brick"]


def test_coco_filters_before_choosing_n(tmp_path: Path) -> None:
    data = write_coco_tree(tmp_path, 12)
    either = select_pairs(data, n=6, seed=5, word_filter=CaptionFilter(("dog", "cat"), "any"))
    assert all(p.caption.startswith(("A dog ", "A cat ")) for p in either)
    with pytest.raises(ExportError, match="with captions containing 'dog' and 'cat', fewer than n=1"):
        select_pairs(data, n=1, seed=5, word_filter=CaptionFilter(("dog", "cat"), "all"))
    dataset = load_dataset(Cfg("c", "coco", {"path": str(tmp_path), "n": 3, "filter": ["dog"]}), seed=5)
    assert len(dataset.items) == 3 and all(item.text.startswith("A dog ") for item in dataset.items)


def test_templates_option(tmp_path: Path) -> None:
    root = _pairs(tmp_path / "p")
    options = {"path": str(root), "templates": ["{}", "a {} here"]}
    assert load_dataset(Cfg("p", "pairs", options), seed=1).zero_shot_templates == ["{}", "a {} here"]
    default = load_dataset(Cfg("p", "pairs", {"path": str(root)}), seed=1).zero_shot_templates
    assert default == ["{}", "a photo of a {}."]


def _info(unknown_words) -> ModelInfo:
    return ModelInfo(
        name="pocket:test",
        family="clip",
        objective="infonce",
        weights="w",
        logit_scale=10.0,
        logit_bias=None,
        embed_dim=4,
        trained=True,
        description="",
        cache_key="k",
        unknown_words=unknown_words,
    )


def test_closed_vocabulary_refuses_unknown_template_words(tmp_path: Path) -> None:
    tokenizer = WordTokenizer.fit(["a red circle", "a blue square"])
    dataset = load_dataset(Cfg("p", "pairs", {"path": str(_pairs(tmp_path / "p"))}), seed=1)
    with pytest.raises(ExportError) as caught:
        check_templates_readable(_info(tokenizer.unknown_words), [dataset])
    message = str(caught.value)
    assert "template 'a photo of a {}.'" in message and "'photo', 'of', '.'" in message
    assert "pocket:test" in message and 'templates = ["{}", "a {}"]' in message
    dataset.zero_shot_templates = ["{}", "a {}"]
    check_templates_readable(_info(tokenizer.unknown_words), [dataset])  # every word known
    dataset.zero_shot_templates = ["a photo of a {}."]
    check_templates_readable(_info(None), [dataset])  # an open vocabulary reads anything
