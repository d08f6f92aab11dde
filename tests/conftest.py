"""Fixtures shared by every test package.

Playwright's sync API allows one running instance per process, so the whole
session shares one headless Chromium (Debian's, found on PATH).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from headless.chromium import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (as .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# A tiny open_clip architecture, registered for the session through its public
# add_model_config hook, and a random-weight checkpoint of it in open_clip's layout.
TINY_ARCH = "TinyTestCLIP"
TINY_SIGLIP = "TinyTestSigmoid"
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_arch(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Register a small ViT config with open_clip (its public add_model_config hook)."""
    import open_clip

    folder = tmp_path_factory.mktemp("open_clip_configs")
    (folder / f"{TINY_ARCH}.json").write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    # A sigmoid-loss (SigLIP-style) variant: learnable bias, text tower in its own module.
    siglip = dict(TINY_CONFIG, init_logit_bias=-10, custom_text=True)
    (folder / f"{TINY_SIGLIP}.json").write_text(json.dumps(siglip), encoding="utf-8")
    open_clip.add_model_config(folder)
    return TINY_ARCH


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_arch: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A random-weight checkpoint of the tiny architecture, as open_clip training saves them."""
    import open_clip
    import torch

    torch.manual_seed(7)
    model = open_clip.create_model(tiny_arch, pretrained=None).eval()
    with torch.no_grad():
        model.logit_scale.fill_(torch.log(torch.tensor(50.0)))
    path = tmp_path_factory.mktemp("ckpt") / "tiny_epoch_3.pt"
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"epoch": 3, "name": "tiny", "state_dict": state}, path)
    return path, model
