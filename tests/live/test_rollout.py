"""Attention rollout of open_clip ViT towers (exporter/live/rollout.py), on the session's tiny
random ViT (TinyTestCLIP: 32 px, 8 px patches, a 4 x 4 grid) and a deeper one the test
registers, and in a live bundle."""

from __future__ import annotations

import json

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F

from exporter.contract import decode_array
from exporter.live.rollout import attentions, rollout, rollout_maps, rollout_support

DEEP = "TinyTestViTDeep"


@pytest.fixture(scope="module")
def deep_vit(tiny_arch, tmp_path_factory):
    from tests.conftest import TINY_CONFIG

    folder = tmp_path_factory.mktemp("deep_vit")
    config = json.loads(json.dumps(TINY_CONFIG))
    config["vision_cfg"].update(layers=3, image_size=48)
    (folder / f"{DEEP}.json").write_text(json.dumps(config), encoding="utf-8")
    open_clip.add_model_config(folder)
    torch.manual_seed(4)
    return open_clip.create_model(DEEP, pretrained=None).eval()


def test_identity_attention_keeps_everything_on_the_class_token():
    eye = torch.eye(5).expand(2, 3, 5, 5)  # batch 2, 3 heads
    rolled = rollout([eye, eye, eye])
    assert torch.allclose(rolled, torch.eye(5).expand(2, 5, 5).double())


def test_uniform_attention_gives_a_uniform_map():
    n, layers = 17, 3
    uniform = torch.full((1, 2, n, n), 1.0 / n)
    rolled = rollout([uniform] * layers)
    # (U + I)/2 to the power L = I / 2^L + (1 - 1/2^L) U: every patch gets the same share.
    expected = torch.eye(n).double() / 2**layers + (1 - 0.5**layers) / n
    assert torch.allclose(rolled[0], expected, atol=1e-12)
    patches = rolled[0, 0, 1:]
    assert torch.allclose(patches, patches[0].expand_as(patches))


def test_rollout_is_the_product_of_mixed_layers_last_on_the_left():
    torch.manual_seed(0)
    layers = [torch.softmax(torch.randn(1, 2, 4, 4), dim=-1) for _ in range(2)]
    mixed = []
    for a in layers:
        m = 0.5 * a.double().mean(1) + 0.5 * torch.eye(4).double()
        mixed.append(m / m.sum(-1, keepdim=True))
    assert torch.allclose(rollout(layers), mixed[1] @ mixed[0])
    assert not torch.allclose(rollout(layers), mixed[0] @ mixed[1])


def test_tiny_vit_maps_shape_and_row_sums(deep_vit):
    visual = deep_vit.visual
    assert rollout_support(visual) is None
    pixels = torch.randn(3, 3, 48, 48)
    found = attentions(visual, pixels)
    assert len(found) == 3 and found[0].shape == (3, 2, 37, 37)  # 6 x 6 patches + class token
    rolled = rollout(found)
    assert torch.allclose(rolled.sum(-1), torch.ones(3, 37, dtype=torch.float64), atol=1e-9)
    assert (rolled >= 0).all()
    maps, grid = rollout_maps(visual, pixels)
    assert grid == 6 and maps.shape == (3, 6, 6)
    assert np.allclose(maps.reshape(3, -1).max(1), 1.0) and (maps >= 0).all()
    assert not np.allclose(maps[0], maps[1])  # the map depends on the image


def test_captured_attention_is_the_blocks_own_softmax(deep_vit):
    """Independently of the hooks: softmax(QK^T / sqrt(d)) from the first block's projections."""
    visual = deep_vit.visual
    pixels = torch.randn(2, 3, 48, 48)
    captured = attentions(visual, pixels)[0]
    with torch.no_grad():
        x = visual.conv1(pixels).flatten(2).transpose(1, 2)
        cls = visual.class_embedding.expand(x.shape[0], 1, -1)
        x = visual.ln_pre(torch.cat([cls, x], dim=1) + visual.positional_embedding)
        block = visual.transformer.resblocks[0]
        h = block.ln_1(x)
        attn = block.attn
        q, k, _ = F.linear(h, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        heads, d = attn.num_heads, attn.head_dim
        q = q.reshape(2, -1, heads, d).transpose(1, 2)
        k = k.reshape(2, -1, heads, d).transpose(1, 2)
        expected = torch.softmax(q @ k.transpose(-1, -2) / d**0.5, dim=-1)
    assert torch.allclose(captured, expected, atol=1e-5)


def test_the_forward_pass_is_unchanged_by_asking_for_weights(deep_vit):
    pixels = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        before = deep_vit.visual(pixels)
    attentions(deep_vit.visual, pixels)
    with torch.no_grad():
        after = deep_vit.visual(pixels)
    assert torch.equal(before, after)


def test_live_bundle_of_an_open_clip_vit_ships_rollout(tmp_path, tiny_arch):
    from tests.fake_export import write_fake_export
    from tests.live_support import add_live_bundle, random_open_clip_model

    name = f"open_clip:{tiny_arch}:random"
    write_fake_export(tmp_path, 8, models=(name,), datasets=("shapes",), parts=("similarity",))
    model = random_open_clip_model(tiny_arch, name)
    _, datasets, entry = add_live_bundle(tmp_path, name, model=model, live="both")
    assert entry["towers"] == ["image", "text"]
    bundle = json.loads((tmp_path / entry["file"]).read_text(encoding="utf-8"))
    payload = json.loads((tmp_path / bundle["datasets"]["shapes"]["saliency"]).read_text(encoding="utf-8"))
    assert payload["method"] == "attention-rollout" and payload["text_independent"] is True
    assert payload["grid"] == 4 and payload["size"] == 32 and payload["descriptions"] == []
    maps = decode_array(payload["caption"])
    assert maps.shape == (8, 16)
    from exporter.live.bundle import _model_inputs, _pixels, split_preprocess

    pil_part, mean, std, _ = split_preprocess(model.preprocess, name)
    pixels = _pixels(_model_inputs(pil_part, datasets[0].items), mean, std)
    expected, _ = rollout_maps(model.model.visual, pixels)
    assert np.abs(maps - expected.reshape(8, -1)).max() <= 0.5 / 255 + 1e-6  # u1 quantisation
    assert "pointing_game" not in entry
