"""The general source: pairs plus one similarity matrix per model, exported through the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exporter.config import parse_config
from exporter.errors import ExportError
from exporter.pipeline import run_export
from tests.analyses._synthetic import random_pairs

N = 24


def _write(root: Path, *, three: bool = False, bad_gram: bool = False) -> tuple[np.ndarray, ...]:
    root.mkdir(parents=True)
    rows = [{"id": f"p{i}", "text": f"caption number {i}"} for i in range(N)]
    (root / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    image, text = random_pairs(N, 12, gap=0.5, noise=0.3, seed=9)
    blocks = [image, text] + ([random_pairs(N, 12, gap=0.2, noise=0.3, seed=10)[0]] if three else [])
    stacked = np.concatenate(blocks)
    gram = stacked @ stacked.T
    if bad_gram:
        gram[0, 1] = gram[1, 0] = -gram[0, 1] - 1.5  # breaks positive semidefiniteness
    model = root / "m"
    model.mkdir()
    np.savetxt(model / "similarity.csv", gram, delimiter=",", fmt="%.18e")
    meta = {"name": "toy", "logit_scale": 50.0}
    if three:
        meta["modalities"] = ["image", "text", "audio"]
    (model / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    return tuple(blocks)


def _config(root: Path) -> str:
    return f"""
[export]
projections = ["gap", "pca"]
gap_fractions = [0.0, 0.5, 1.0]
[[datasets]]
name = "toy"
kind = "embeddings"
path = "{root}"
[[models]]
spec = "embeddings:{root / "m"}"
projections = ["pca"]
gap_fractions = [0.0, 1.0]
"""


@pytest.mark.parametrize("three", [False, True])
def test_similarity_matrix_exports_like_its_embeddings(tmp_path: Path, three: bool) -> None:
    blocks = _write(tmp_path / "in", three=three)
    config = parse_config(_config(tmp_path / "in"), tmp_path / "c.toml")
    run_export(config, tmp_path / "out", cache_dir=tmp_path / "cache")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    metrics = manifest["results"][0]["metrics"]
    expected = np.linalg.norm(blocks[0].mean(0) - blocks[1].mean(0))
    assert metrics["centroid_distance"] == pytest.approx(expected, abs=1e-5)
    model = manifest["models"][0]
    assert (
        model["logit_scale"] == 50.0 and model["embed_dim"] == 12
    )  # the rank recovered, not a stored dimension
    # Recovered from a similarity matrix: vectors only, so the page knows it has no encoders
    # (no zero-shot with templates, no live queries) and says why.
    assert model["capabilities"] == {
        "encode_images": False,
        "encode_texts": False,
        "precomputed_vectors": True,
        "training_dynamics": False,
        "closed_vocabulary": False,
    }
    # The model's own projections and gap fractions override [export]'s.
    result = tmp_path / "out" / "results" / model["slug"] / "toy"
    assert json.loads((result / "projections.json").read_text())["methods"] == ["pca"]
    assert [step["fraction"] for step in json.loads((result / "gap.json").read_text())["steps"]] == [0.0, 1.0]
    assert manifest["datasets"][0]["modalities"] == (
        ["image", "text", "audio"] if three else ["image", "text"]
    )


def test_a_matrix_that_is_not_a_gram_matrix_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "in", bad_gram=True)
    config = parse_config(_config(tmp_path / "in"), tmp_path / "c.toml")
    with pytest.raises(ExportError, match=r"similarity.csv: not positive semidefinite"):
        run_export(config, tmp_path / "out", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "out").exists()


def test_a_bad_model_override_is_refused_with_one_line(tmp_path: Path) -> None:
    text = _config(tmp_path).replace('projections = ["pca"]\ngap', 'projections = ["umapp"]\ngap')
    with pytest.raises(ExportError, match=r"\[\[models\]\] #1: unknown projection 'umapp'"):
        parse_config(text, tmp_path / "c.toml")
