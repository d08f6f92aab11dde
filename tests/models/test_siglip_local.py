"""A SigLIP-family open_clip model (sigmoid bias, Hugging Face tokenizer) end to end from local files.

The tokenizer folder and the checkpoint are written here; the hub is never
asked (HF_HUB_OFFLINE=1). Missing tokenizer files are named exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.cli import main
from exporter.errors import ExportError
from exporter.models import hf_tokenizer_files, resolve_model

from ..conftest import TINY_CONFIG
from ..export._support import assert_one_error_line, export_args

ARCH = "TinyTestSigLIPLocal"
WORDS = (
    "a an the of photo red blue green circle square cat dog man space rocket cup coffee on in with".split()
)


def _write_tokenizer(folder: Path) -> Path:
    """A word-level fast tokenizer saved as transformers saves any tokenizer (tokenizer.json + config)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    wrapped.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def siglip_files(tmp_path_factory) -> tuple[Path, Path]:
    """(tokenizer folder, checkpoint) of a tiny SigLIP-style architecture registered with open_clip."""
    import open_clip
    import torch

    root = tmp_path_factory.mktemp("siglip_local")
    tokenizer = _write_tokenizer(root / "tokenizer")
    config = {
        "embed_dim": 32,
        "init_logit_bias": -10,
        "custom_text": True,
        "vision_cfg": TINY_CONFIG["vision_cfg"],
        "text_cfg": {
            "context_length": 16,
            "vocab_size": len(WORDS) + 3,
            "hf_tokenizer_name": str(tokenizer),
            "tokenizer_kwargs": {"clean": "canonicalize"},
            "width": 32,
            "heads": 2,
            "layers": 1,
            "no_causal_mask": True,
            "proj_bias": True,
            "pool_type": "last",
            "norm_kwargs": {"eps": 1e-6},
        },
    }
    configs = root / "configs"
    configs.mkdir()
    (configs / f"{ARCH}.json").write_text(json.dumps(config), encoding="utf-8")
    open_clip.add_model_config(configs)
    torch.manual_seed(3)
    model = open_clip.create_model(ARCH)
    checkpoint = root / "tiny_siglip.pt"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    return tokenizer, checkpoint


def test_export_runs_a_siglip_model_from_local_files(siglip_files, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, checkpoint = siglip_files
    config = tmp_path / "export.toml"
    config.write_text(
        f"""
[export]
projections = ["pca"]
clusters = 2

[[datasets]]
name = "samples"
kind = "samples"
n = 4

[[models]]
spec = "open_clip:{ARCH}:{checkpoint.as_posix()}"
slug = "tiny-siglip"
""",
        encoding="utf-8",
    )
    out = tmp_path / "data"
    assert main(export_args(config, out, tmp_path / "cache")) == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (model,) = manifest["models"]
    assert model["family"] == "siglip" and model["objective"] == "sigmoid"
    assert model["logit_bias"] == pytest.approx(-10.0)
    (result,) = manifest["results"]
    zeroshot = json.loads((out / result["files"]["zeroshot"]).read_text(encoding="utf-8"))
    assert [run["template"] for run in zeroshot["runs"]] == ["{}", "a photo of a {}."]


def test_texts_go_through_the_local_tokenizer(siglip_files, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, checkpoint = siglip_files
    model = resolve_model(f"open_clip:{ARCH}:{checkpoint}", device="cpu", cache_dir=tmp_path)
    known, unknown_only = model.encode_texts(["a red circle", "zebra xylophone quartz"])[:2]
    tokens = model.tokenizer(["a red circle"])
    assert tokens[0, :3].tolist() == [3 + WORDS.index(w) for w in ("a", "red", "circle")]
    assert float(known @ unknown_only) < 0.9999  # different token ids, different vectors


def test_a_tokenizer_folder_missing_its_vocabulary(siglip_files, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tokenizer, checkpoint = siglip_files
    (tokenizer / "tokenizer.json").rename(tmp_path / "tokenizer.json")
    try:
        with pytest.raises(ExportError) as caught:
            resolve_model(f"open_clip:{ARCH}:{checkpoint}", device="cpu", cache_dir=tmp_path)
    finally:
        (tmp_path / "tokenizer.json").rename(tokenizer / "tokenizer.json")
    assert f"tokenizer folder {tokenizer} lacks tokenizer.json (or spiece.model)" in str(caught.value)


def test_offline_hub_tokenizer_names_the_missing_files(tmp_path, monkeypatch, capsys) -> None:
    """The real ViT-B-16-SigLIP config names timm/ViT-B-16-SigLIP; an empty cache lacks both files."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ExportError) as caught:
        hf_tokenizer_files.check_tokenizer(
            "ViT-B-16-SigLIP", "open_clip:ViT-B-16-SigLIP:webli", hub_reachable=False
        )
    message = str(caught.value)
    assert "tokenizer 'timm/ViT-B-16-SigLIP' is not in the Hugging Face cache" in message
    assert "missing tokenizer_config.json and tokenizer.json (or spiece.model)" in message
    assert str(tmp_path / "hub") in message and "\n" not in message
    # Once the files are in the cache, nothing is missing.
    snapshot = tmp_path / "hub" / "models--timm--ViT-B-16-SigLIP" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (tmp_path / "hub" / "models--timm--ViT-B-16-SigLIP" / "refs").mkdir()
    (tmp_path / "hub" / "models--timm--ViT-B-16-SigLIP" / "refs" / "main").write_text("abc")
    for name in ("tokenizer_config.json", "spiece.model"):
        (snapshot / name).write_text("{}")
    assert hf_tokenizer_files.missing_files("timm/ViT-B-16-SigLIP") == []


def test_the_cli_line_for_a_missing_tokenizer(siglip_files, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tokenizer, checkpoint = siglip_files
    (tokenizer / "tokenizer_config.json").rename(tmp_path / "tokenizer_config.json")
    config = tmp_path / "export.toml"
    config.write_text(
        f'[[datasets]]\nkind = "samples"\nn = 3\n\n[[models]]\nspec = "open_clip:{ARCH}:{checkpoint.as_posix()}"\n',
        encoding="utf-8",
    )
    try:
        code = main(export_args(config, tmp_path / "data", tmp_path / "cache"))
    finally:
        (tmp_path / "tokenizer_config.json").rename(tokenizer / "tokenizer_config.json")
    assert code == 1
    assert "lacks tokenizer_config.json" in assert_one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "data").exists()
