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


def test_tokenizers_the_page_cannot_run_are_refused_in_one_line(tiny_open_clip, tmp_path):
    from open_clip.tokenizer import SimpleTokenizer

    class WordPiece:  # stands for a Hugging Face tokenizer
        pass

    with pytest.raises(
        ExportError, match=r"\(WordPiece\) has no browser version yet; set live = false"
    ) as info:
        describe_tokenizer(WordPiece(), "open_clip:some-hf-text-tower", tmp_path)
    assert "\n" not in str(info.value)
    with pytest.raises(ExportError, match="drops tokens at random"):
        describe_tokenizer(SimpleTokenizer(reduction_mask="random"), "open_clip:x", tmp_path)
    _, tokenizer = tiny_open_clip
    desc = describe_tokenizer(tokenizer, "open_clip:TinyTestCLIP:random", tmp_path)
    assert desc["kind"] == "open_clip-bpe" and desc["context_length"] == 16
    assert (tmp_path / desc["merges"]["file"]).stat().st_size == desc["merges"]["bytes"] == 48894 * 4


def test_int8_tower_is_weight_only(tiny_open_clip, tmp_path):
    """Activations stay float: a caption's vector does not depend on the batch it is in."""
    model, tokenizer = tiny_open_clip
    tokens = tokenizer(["a photo of a dog", "two cats on a sofa", "a red circle and 12 blue squares"])
    export_tower("text", model, tokens, tmp_path / "t.onnx", int8=True, model_name="tiny")
    data = (tmp_path / "t.onnx").read_bytes()
    together = run_onnx(data, tokens.numpy())
    alone = np.concatenate([run_onnx(data, tokens[i : i + 1].numpy()) for i in range(3)])
    assert np.abs(together - alone).max() <= 1e-6
    import onnx

    ops = {n.op_type for n in onnx.load_from_string(data).graph.node}
    assert "DequantizeLinear" in ops and "DynamicQuantizeLinear" not in ops
