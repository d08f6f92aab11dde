from __future__ import annotations

from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch

import exporter.pocket.registry as registry
from exporter.errors import ExportError
from exporter.pocket.registry import (
    DEFAULT_SET,
    POCKET_MODELS,
    cache_key,
    ensure_pocket_model,
    load_pocket_model,
    pocket_spec,
)
from exporter.pocket.scenes import display_pairs
from exporter.pocket.train import embed_scenes, train_pocket

from ._tiny import tiny_spec, tiny_vit_spec


def test_default_set_names():
    assert set(DEFAULT_SET) >= {
        "infonce",
        "cyclip",
        "cloob",
        "siglip",
        "tau-1",
        "tau-0.1",
        "tau-0.033",
        "tau-0.01",
    }
    assert POCKET_MODELS["infonce"].learn_temperature
    assert [POCKET_MODELS[f"tau-{t}"].temperature for t in ("1", "0.1", "0.01")] == [1.0, 0.1, 0.01]
    assert all(not POCKET_MODELS[n].learn_temperature for n in DEFAULT_SET if n.startswith("tau-"))
    assert POCKET_MODELS["siglip"].logit_bias is not None and POCKET_MODELS["siglip"].logit_bias < 0


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ExportError, match="did you mean 'pocket:infonce'"):
        pocket_spec("pocket:infonse")
    assert pocket_spec("pocket:cloob") is POCKET_MODELS["cloob"]


def test_cache_key_depends_on_spec_seed_and_name():
    spec = tiny_spec()
    base = cache_key("infonce", spec, 1)
    assert base == cache_key("infonce", spec, 1)
    assert (
        len(
            {
                base,
                cache_key("infonce", spec, 2),
                cache_key("x", spec, 1),
                cache_key("infonce", tiny_spec(steps=7), 1),
            }
        )
        == 4
    )


def test_second_ensure_trains_nothing(tmp_path, monkeypatch):
    calls = []
    real = registry.train_pocket

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(registry, "train_pocket", counting)
    spec = tiny_spec()
    first = ensure_pocket_model("infonce", cache_dir=tmp_path, seed=11, spec=spec)
    second = ensure_pocket_model("pocket:infonce", cache_dir=tmp_path, seed=11, spec=spec)
    assert len(calls) == 1
    assert second == first
    # No temporary folders left behind; the artifact files exist.
    assert not [p for p in (tmp_path / "pocket").iterdir() if p.name.startswith(".tmp")]
    for path in (first.checkpoint, first.tokenizer_file, first.dynamics_file, first.model_config_file):
        assert path.is_file()
    dyn = first.load_dynamics()
    assert {"steps", "loss", "curve_step", "centroid_distance", "temperature", "image", "text"} <= set(dyn)
    # A different seed is a different model.
    ensure_pocket_model("infonce", cache_dir=tmp_path, seed=12, spec=spec)
    assert len(calls) == 2


@pytest.mark.parametrize("tower", ["resnet", "vit"])
def test_checkpoint_loads_through_open_clip_with_identical_embeddings(tmp_path, tower):
    spec = tiny_spec("siglip") if tower == "resnet" else tiny_vit_spec("siglip")
    artifact = ensure_pocket_model("siglip", cache_dir=tmp_path, seed=3, spec=spec)
    model, preprocess, tokenizer = load_pocket_model(artifact, "cpu")
    assert isinstance(model, open_clip.model.CLIP)
    assert artifact.open_clip_model_name in open_clip.list_models()
    memory = train_pocket(spec, seed=3)
    scenes = display_pairs(8, seed=3)
    want_img, want_txt = embed_scenes(memory.model, memory.tokenizer, scenes)
    with torch.no_grad():
        images = torch.stack([preprocess(s.image) for s in scenes])
        got_img = model.encode_image(images, normalize=True).numpy()
        got_txt = model.encode_text(tokenizer([s.caption for s in scenes]), normalize=True).numpy()
    np.testing.assert_allclose(got_img, want_img, atol=1e-5)
    np.testing.assert_allclose(got_txt, want_txt, atol=1e-5)
    assert float(model.logit_bias.detach()) == pytest.approx(artifact.logit_bias, rel=1e-6)
    assert float(model.logit_scale.detach().exp()) == pytest.approx(artifact.logit_scale, rel=1e-6)
    assert artifact.family == "siglip" and artifact.embed_dim == spec.embed_dim


def test_missing_checkpoint_is_an_export_error(tmp_path):
    artifact = ensure_pocket_model("infonce", cache_dir=tmp_path, spec=tiny_spec())
    artifact.checkpoint.unlink()
    with pytest.raises(ExportError, match="model.pt"):
        load_pocket_model(artifact)


def test_package_exports_resolve_and_scenes_need_no_torch():
    import subprocess
    import sys

    import exporter.pocket as pocket

    for name in pocket.__all__:
        assert getattr(pocket, name) is not None
    code = "import sys; from exporter.pocket import display_pairs; display_pairs(2); print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"


def test_damaged_cache_folder_is_retrained(tmp_path, monkeypatch):
    calls = []
    real = registry.train_pocket
    monkeypatch.setattr(registry, "train_pocket", lambda *a, **k: calls.append(1) or real(*a, **k))
    spec = tiny_spec()
    first = ensure_pocket_model("infonce", cache_dir=tmp_path, spec=spec)
    first.folder.joinpath("meta.json").write_text("{not json")
    second = ensure_pocket_model("infonce", cache_dir=tmp_path, spec=spec)
    assert len(calls) == 2 and second.key == first.key
    assert torch.equal(
        torch.load(second.checkpoint)["logit_scale"], torch.load(second.checkpoint)["logit_scale"]
    )
