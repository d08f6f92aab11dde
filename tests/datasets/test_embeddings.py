from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exporter.datasets import load_dataset
from exporter.embed import embed_dataset
from exporter.errors import ExportError
from exporter.models import resolve_model

from ._support import Cfg


def _write(root: Path, n: int = 5, models: dict | None = None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    rows = [
        {"id": f"t{i}", "text": f"a sound of thing {i}", "label": "dog" if i < 2 else "cat"} for i in range(n)
    ]
    (root / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    rng = np.random.default_rng(0)
    for model, meta in (models or {"imagebind": {"name": "ImageBind", "temperature": 0.05}}).items():
        folder = root / model
        folder.mkdir()
        for modality in ("text", "audio", "image"):
            np.save(folder / f"{modality}.npy", rng.normal(size=(n, 8)).astype(np.float32))
        if meta is not None:
            (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")


def test_dataset_and_model_roundtrip(tmp_path: Path) -> None:
    _write(tmp_path / "e")
    dataset = load_dataset(Cfg("e", "embeddings", {"path": str(tmp_path / "e")}), seed=1)
    assert dataset.modalities == ("image", "text", "audio")
    assert dataset.items[0].image is None and dataset.classes == ["cat", "dog"]
    assert set(dataset.precomputed) == {"imagebind"}
    model = resolve_model(f"embeddings:{tmp_path / 'e' / 'imagebind'}", cache_dir=tmp_path)
    assert model.info.logit_scale == pytest.approx(20.0) and model.info.weights == "ImageBind"
    out = embed_dataset(model, dataset, cache_dir=tmp_path / "c", progress=False)
    raw = np.load(tmp_path / "e" / "imagebind" / "audio.npy")
    np.testing.assert_allclose(out["audio"], raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    assert model.info.capabilities.precomputed_vectors and not model.info.capabilities.encode_texts
    with pytest.raises(ExportError, match="cannot encode texts"):
        model.encode_texts(["a dog"])


def test_missing_model_json_assumes_and_says_so(tmp_path: Path) -> None:
    _write(tmp_path / "e", models={"m": None})
    model = resolve_model(f"embeddings:{tmp_path / 'e' / 'm'}", cache_dir=tmp_path)
    assert model.info.logit_scale == 100.0 and "assumed" in model.info.description


def test_row_count_mismatch(tmp_path: Path) -> None:
    _write(tmp_path / "e")
    np.save(tmp_path / "e" / "imagebind" / "audio.npy", np.ones((4, 8), dtype=np.float32))
    with pytest.raises(ExportError, match=r"audio.npy: 4 rows but pairs.jsonl lists 5 pairs"):
        load_dataset(Cfg("e", "embeddings", {"path": str(tmp_path / "e")}), seed=1)


def test_nan_and_dimension_mismatch(tmp_path: Path) -> None:
    _write(tmp_path / "e")
    bad = np.ones((5, 8), dtype=np.float32)
    bad[3, 1] = np.nan
    np.save(tmp_path / "e" / "imagebind" / "text.npy", bad)
    with pytest.raises(ExportError, match=r"text.npy: row 3 contains NaN"):
        load_dataset(Cfg("e", "embeddings", {"path": str(tmp_path / "e")}), seed=1)
    np.save(tmp_path / "e" / "imagebind" / "text.npy", np.ones((5, 6), dtype=np.float32))
    with pytest.raises(ExportError, match="different dimensions"):
        load_dataset(Cfg("e", "embeddings", {"path": str(tmp_path / "e")}), seed=1)


def test_models_must_share_modalities(tmp_path: Path) -> None:
    _write(tmp_path / "e", models={"a": {"temperature": 0.07}, "b": {"logit_scale": 10}})
    (tmp_path / "e" / "b" / "audio.npy").unlink()
    with pytest.raises(ExportError, match="every model folder must cover the same modalities"):
        load_dataset(Cfg("e", "embeddings", {"path": str(tmp_path / "e")}), seed=1)


def test_model_against_wrong_dataset(tmp_path: Path) -> None:
    _write(tmp_path / "e", n=5)
    _write(tmp_path / "f", n=6)
    dataset = load_dataset(Cfg("f", "embeddings", {"path": str(tmp_path / "f")}), seed=1)
    model = resolve_model(f"embeddings:{tmp_path / 'e' / 'imagebind'}", cache_dir=tmp_path)
    with pytest.raises(ExportError, match="has 5 rows but dataset 'f' has 6 pairs"):
        embed_dataset(model, dataset, cache_dir=tmp_path / "c", progress=False)


def test_bad_model_json(tmp_path: Path) -> None:
    _write(tmp_path / "e", models={"m": {"temperature": "hot"}})
    with pytest.raises(ExportError, match="'temperature' must be a finite number"):
        resolve_model(f"embeddings:{tmp_path / 'e' / 'm'}", cache_dir=tmp_path)
    with pytest.raises(ExportError, match="not found"):
        resolve_model(f"embeddings:{tmp_path / 'nowhere'}", cache_dir=tmp_path)
