"""exporter/live/towers.py on an open_clip model the test writes (random weights, no hub): the
text tower as ONNX, float and int8, checked with onnxruntime; and the one-line refusal for a
tokenizer the page cannot run yet."""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch

from exporter.errors import ExportError
from exporter.live.tokenizers import describe_tokenizer
from exporter.live.towers import TextTower, export_tower, run_onnx


@pytest.fixture(scope="module")
def tiny_open_clip(tiny_arch):
    torch.manual_seed(11)
    model = open_clip.create_model(tiny_arch, pretrained=None).eval()
    tokenizer = open_clip.get_tokenizer(tiny_arch)
    return model, tokenizer


def test_open_clip_text_tower_float_and_int8(tiny_open_clip, tmp_path):
    model, tokenizer = tiny_open_clip
    texts = ["a photo of a dog", "two cats on a sofa", "a red circle"]
    tokens = tokenizer(texts)
    expected = TextTower(model).eval()(tokens).detach().numpy()
    plain = export_tower("text", model, tokens, tmp_path / "text.onnx", model_name="tiny")
    got = run_onnx((tmp_path / "text.onnx").read_bytes(), tokens.numpy())
    assert np.abs(got - expected).max() <= 1e-4 and plain["deviation"] <= 1e-4
    small = export_tower("text", model, tokens, tmp_path / "text.int8.onnx", int8=True, model_name="tiny")
    # The tiny tower's token embedding (49408 x 32) dominates: int8 makes it about 4x smaller.
    assert small["bytes"] < 0.4 * plain["bytes"]
    got8 = run_onnx((tmp_path / "text.int8.onnx").read_bytes(), tokens.numpy())
    assert np.abs(got8 - expected).max() <= 0.05
    assert np.abs(got8 - expected).max() > 0  # quantisation did change the weights


def test_bpe_tokenizer_is_refused_in_one_line(tiny_open_clip):
    _, tokenizer = tiny_open_clip
    with pytest.raises(ExportError, match="has no browser version yet; set live = false") as info:
        describe_tokenizer(tokenizer, "open_clip:TinyTestCLIP:random")
    assert "\n" not in str(info.value)
