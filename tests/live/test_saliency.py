"""Grad-CAM with a text target and the pointing game (exporter/live/saliency.py)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from exporter.live.bundle import _pixels
from exporter.live.saliency import gradcam, gradcam_layer, inside, object_box, peak_of, upsample
from exporter.pocket.scenes import SceneObject, display_pairs
from tests.live_support import random_pocket_model

MEAN, STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]


def _rest_of_tower(visual, acts):
    """The ModifiedResNet after layer2, written out: layer3, layer4, attention pool."""
    return visual.attnpool(visual.layer4(visual.layer3(acts)))


def test_layer_is_the_last_with_a_grid_of_at_least_seven():
    model = random_pocket_model()
    assert gradcam_layer(model.model.visual, 64) == ("layer2", 8)


def test_gradcam_equals_the_textbook_computation():
    model = random_pocket_model()
    visual = model.model.visual
    scenes = display_pairs(3)
    pixels = _pixels([s.image for s in scenes], MEAN, STD)
    texts = torch.from_numpy(model.encode_texts([s.caption for s in scenes])).float()
    got = gradcam(model.model, pixels, texts, "layer2")
    # Independent: activations of layer2 as a leaf, the rest of the tower as a function of them.
    with torch.no_grad():
        x = visual.stem(pixels)
        acts = visual.layer2(visual.layer1(x))
    acts = acts.clone().requires_grad_(True)
    score = (F.normalize(_rest_of_tower(visual, acts), dim=-1) * texts).sum()
    (grads,) = torch.autograd.grad(score, acts)
    cam = F.relu((grads.mean(dim=(2, 3), keepdim=True) * acts).sum(1)).detach().numpy()
    cam = cam / cam.reshape(3, -1).max(1)[:, None, None]
    assert got.shape == (3, 8, 8)
    assert np.allclose(got, cam, atol=1e-5)
    assert not np.allclose(got[0], got[1])


def test_pointing_game_hit_is_the_peak_inside_the_grown_box():
    obj = SceneObject("circle", "red", "large", x=20.0, y=40.0, radius=10.0)
    box = object_box(obj, tolerance=2.0)
    assert box == [8.0, 28.0, 32.0, 52.0]
    cam = np.zeros((1, 8, 8))
    cam[0, 5, 2] = 1.0  # cell centre (20, 44) at 64 px
    peak = peak_of(upsample(cam, 64)[0])
    assert inside(peak, box)
    cam = np.zeros((1, 8, 8))
    cam[0, 1, 6] = 1.0
    assert not inside(peak_of(upsample(cam, 64)[0]), box)
