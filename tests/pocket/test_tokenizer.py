from __future__ import annotations

import pytest
import torch

from exporter.errors import ExportError
from exporter.pocket.scenes import display_pairs
from exporter.pocket.tokenizer import EOT, WordTokenizer, scene_tokenizer


def test_eot_has_the_highest_id_and_argmax_finds_it():
    tok = scene_tokenizer()
    assert tok.vocab[-1] == EOT and tok.eot_id == tok.vocab_size - 1
    captions = [s.caption for s in display_pairs(20)]
    ids = tok(captions)
    assert ids.dtype == torch.long and ids.shape == (20, tok.context_length)
    # open_clip pools at argmax: it must land on <eot>, right after the last word.
    for row, caption in zip(ids, captions, strict=True):
        assert int(row.argmax()) == len(caption.split()) + 1
        assert int(row[0]) == tok.sot_id


def test_round_trip_and_unknown_words():
    tok = scene_tokenizer()
    for scene in display_pairs(30):
        assert tok.decode(tok([scene.caption])[0]) == scene.caption
    ids = tok.encode("a Purple elephant")
    assert ids == [tok.sot_id, tok.ids["a"], tok.ids["purple"], tok.unk_id, tok.eot_id]


def test_truncation_keeps_eot():
    tok = scene_tokenizer(context_length=5)
    row = tok(["a large red circle left of a small blue square"])[0]
    assert row.tolist()[-1] == tok.eot_id and int(row.argmax()) == 4


def test_fit_is_deterministic_and_save_load(tmp_path):
    a = WordTokenizer.fit(["b a c", "c d"])
    b = WordTokenizer.fit(["c d", "a b c"])
    assert a.vocab == b.vocab == ["<pad>", "<sot>", "<unk>", "a", "b", "c", "d", "<eot>"]
    path = tmp_path / "tok.json"
    tok = scene_tokenizer(context_length=18)
    tok.save(path)
    loaded = WordTokenizer.load(path)
    assert loaded.vocab == tok.vocab and loaded.context_length == 18
    assert torch.equal(loaded(["a small red cross"]), tok(["a small red cross"]))


def test_bad_tokenizer_file_is_a_one_line_export_error(tmp_path):
    path = tmp_path / "tok.json"
    path.write_text('{"format": "other"}')
    with pytest.raises(ExportError, match="tok.json"):
        WordTokenizer.load(path)
