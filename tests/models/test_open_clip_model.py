from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from exporter.errors import ExportError
from exporter.models import list_model_kinds, resolve_model
from exporter.models.open_clip_model import host_reachable


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)) for _ in range(3)]


def test_local_checkpoint_gives_source_embeddings(tiny_checkpoint, tmp_path: Path) -> None:
    import open_clip

    path, source = tiny_checkpoint
    model = resolve_model(f"open_clip:TinyTestCLIP:{path}", device="cpu", cache_dir=tmp_path)
    texts = ["a red circle", "two blue squares"]
    images = _images()
    tokenizer = open_clip.get_tokenizer("TinyTestCLIP")
    preprocess = model.preprocess
    with torch.no_grad():
        expected_text = torch.nn.functional.normalize(source.encode_text(tokenizer(texts)), dim=-1).numpy()
        expected_image = torch.nn.functional.normalize(
            source.encode_image(torch.stack([preprocess(i) for i in images])), dim=-1
        ).numpy()
    np.testing.assert_allclose(model.encode_texts(texts), expected_text, atol=1e-5)
    np.testing.assert_allclose(model.encode_images(images), expected_image, atol=1e-5)
    info = model.info
    assert info.logit_scale == pytest.approx(50.0, rel=1e-5)
    assert info.logit_bias is None and info.trained and info.embed_dim == 32
    assert info.family == "clip" and info.weights.startswith("tiny_epoch_3.pt@")
    assert np.allclose(np.linalg.norm(model.encode_texts(texts), axis=1), 1.0, atol=1e-5)


def test_cache_key_depends_on_weights(tiny_checkpoint, tmp_path: Path) -> None:
    path, _ = tiny_checkpoint
    other = tmp_path / "other.pt"
    data = torch.load(path, weights_only=True)
    data["state_dict"]["module.logit_scale"] = torch.tensor(1.0)
    torch.save(data, other)
    a = resolve_model(f"open_clip:TinyTestCLIP:{path}", device="cpu", cache_dir=tmp_path)
    b = resolve_model(f"open_clip:TinyTestCLIP:{other}", device="cpu", cache_dir=tmp_path)
    again = resolve_model(f"open_clip:TinyTestCLIP:{path}", device="cpu", cache_dir=tmp_path)
    assert a.info.cache_key != b.info.cache_key
    assert a.info.cache_key == again.info.cache_key


def test_random_weights_are_seeded_and_marked_untrained(tiny_arch: str, tmp_path: Path) -> None:
    a = resolve_model(f"open_clip:{tiny_arch}:random", device="cpu", cache_dir=tmp_path)
    b = resolve_model(f"open_clip:{tiny_arch}:random", device="cpu", cache_dir=tmp_path)
    assert a.info.trained is False and a.info.weights == "random"
    np.testing.assert_array_equal(a.encode_texts(["a cat"]), b.encode_texts(["a cat"]))


def test_sigmoid_model_records_scale_and_bias(tiny_arch: str, tmp_path: Path) -> None:
    import open_clip

    torch.manual_seed(3)
    source = open_clip.create_model("TinyTestSigmoid", pretrained=None).eval()
    with torch.no_grad():
        source.logit_scale.fill_(float(np.log(10.0)))
        source.logit_bias.fill_(-12.5)
    path = tmp_path / "siglip_tiny.pt"
    torch.save(source.state_dict(), path)
    model = resolve_model(f"open_clip:TinyTestSigmoid:{path}", device="cpu", cache_dir=tmp_path)
    assert model.info.logit_scale == pytest.approx(10.0, rel=1e-5)
    assert model.info.logit_bias == pytest.approx(-12.5)
    assert (model.info.family, model.info.objective) == ("siglip", "sigmoid")


def test_uncached_hub_tag_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty HF cache: the tag cannot be cached whatever the machine holds.
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    start = time.monotonic()
    with pytest.raises(ExportError) as caught:
        resolve_model("open_clip:ViT-B-32:laion2b_s34b_b79k", device="cpu", cache_dir=tmp_path)
    elapsed = time.monotonic() - start
    message = str(caught.value)
    assert elapsed < 5.0
    assert "laion2b_s34b_b79k" in message and "not cached" in message
    assert "open_clip:ViT-B-32:/path/to/checkpoint" in message
    assert "\n" not in message


def test_unreachable_probe_returns_false_quickly() -> None:
    start = time.monotonic()
    assert host_reachable("http://127.0.0.1:9/", timeout=1.0) is False
    assert time.monotonic() - start < 2.0


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("open_clip:ViT-B-33:random", "did you mean 'ViT-B-32'"),
        ("open_clip:RN50:/no/such/file.pt", "/no/such/file.pt not found"),
        ("open_clip:RN50:openaii", "did you mean 'openai'"),
        ("open_clip:RN50", "write open_clip:<architecture>"),
        ("opn_clip:RN50:openai", "did you mean 'open_clip:...'"),
        ("cyclip:", "missing the part after 'cyclip:'"),
    ],
)
def test_bad_specs(spec: str, needle: str, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="^model '") as caught:
        resolve_model(spec, device="cpu", cache_dir=tmp_path)
    assert needle in str(caught.value)


def test_checkpoint_for_wrong_architecture(tiny_checkpoint, tmp_path: Path) -> None:
    path, _ = tiny_checkpoint
    with pytest.raises(ExportError, match="cannot load .* into architecture 'RN50'"):
        resolve_model(f"open_clip:RN50:{path}", device="cpu", cache_dir=tmp_path)


def test_missing_gpu_is_an_error(tiny_arch: str, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ExportError, match="no CUDA GPU"):
        resolve_model(f"open_clip:{tiny_arch}:random", device="cuda", cache_dir=tmp_path)


def test_list_model_kinds() -> None:
    patterns = [pattern for pattern, _ in list_model_kinds()]
    for prefix in ("pocket:", "open_clip:", "cyclip:", "cloob:", "embeddings:"):
        assert any(p.startswith(prefix) for p in patterns)
