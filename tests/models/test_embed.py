from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exporter.datasets.base import PairDataset, PairItem, image_loader, sha256_file
from exporter.embed import embed_dataset
from exporter.errors import ExportError
from exporter.models.base import ModelInfo


def _info(name: str = "fake:model", key: str = "k1") -> ModelInfo:
    return ModelInfo(
        name=name,
        family="clip",
        objective="infonce",
        weights="test",
        logit_scale=100.0,
        logit_bias=None,
        embed_dim=4,
        trained=True,
        description="deterministic fake encoder",
        cache_key=key,
    )


class CountingModel:
    """Encodes an image by its mean colour and a text by its letters; counts calls and items."""

    def __init__(self, fail_on_image_call: int | None = None, nan: bool = False, key: str = "k1"):
        self.info = _info(key=key)
        self.image_calls = 0
        self.text_calls = 0
        self.items_encoded = 0
        self.fail_on_image_call = fail_on_image_call
        self.nan = nan

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        self.image_calls += 1
        if self.fail_on_image_call == self.image_calls:
            raise KeyboardInterrupt("simulated crash")
        self.items_encoded += len(images)
        rows = [np.r_[np.asarray(i, dtype=np.float32).mean(axis=(0, 1)) + 1.0, 1.0] for i in images]
        out = np.stack(rows)
        if self.nan:
            out[0, 0] = np.nan
        return out

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        self.text_calls += 1
        self.items_encoded += len(texts)
        return np.stack([[len(t), t.count("a") + 1, t.count("e") + 1, 1.0] for t in texts]).astype(np.float32)


def _dataset(folder: Path, n: int = 10) -> PairDataset:
    items = []
    for i in range(n):
        path = folder / f"img{i}.png"
        Image.new("RGB", (8, 6), (i * 20, 255 - i * 20, 7 * i)).save(path)
        items.append(
            PairItem(f"p{i}", f"caption number {i} about a shape", image_loader(path), sha256_file(path))
        )
    return PairDataset(name="toy", kind="pairs", description="", items=items)


def test_vectors_are_normalised_and_aligned(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    out = embed_dataset(CountingModel(), dataset, cache_dir=tmp_path / "cache", batch_size=4, progress=False)
    assert set(out) == {"image", "text"}
    assert out["image"].shape == (10, 4) and out["image"].dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out["text"], axis=1), 1.0, atol=1e-6)


def test_second_run_uses_cache(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    first = embed_dataset(CountingModel(), dataset, cache_dir=tmp_path / "c", batch_size=4, progress=False)
    model = CountingModel()
    second = embed_dataset(model, dataset, cache_dir=tmp_path / "c", batch_size=4, progress=False)
    assert model.image_calls == model.text_calls == 0
    np.testing.assert_array_equal(first["image"], second["image"])


def test_killed_run_resumes_without_recomputing_finished_batches(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=10)
    crashing = CountingModel(fail_on_image_call=3)  # batches 1 and 2 (8 images) finish, then a crash
    with pytest.raises(KeyboardInterrupt):
        embed_dataset(crashing, dataset, cache_dir=tmp_path / "c", batch_size=4, progress=False)
    resumed = CountingModel()
    out = embed_dataset(resumed, dataset, cache_dir=tmp_path / "c", batch_size=4, progress=False)
    assert resumed.image_calls == 1  # only the unfinished third batch (2 images)
    assert resumed.items_encoded == 2 + 10  # 2 images + all 10 captions (never reached before)
    clean = embed_dataset(
        CountingModel(), dataset, cache_dir=tmp_path / "fresh", batch_size=4, progress=False
    )
    np.testing.assert_allclose(out["image"], clean["image"], atol=1e-7)
    np.testing.assert_allclose(out["text"], clean["text"], atol=1e-7)


def test_changed_caption_recomputes_only_that_caption(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=6)
    embed_dataset(CountingModel(), dataset, cache_dir=tmp_path / "c", batch_size=4, progress=False)
    item = dataset.items[2]
    dataset.items[2] = PairItem(item.id, "an entirely new caption", item.image, item.image_key)
    model = CountingModel()
    embed_dataset(model, dataset, cache_dir=tmp_path / "c", batch_size=4, progress=False)
    assert (model.image_calls, model.text_calls, model.items_encoded) == (0, 1, 1)


def test_other_model_key_does_not_reuse_cache(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=3)
    embed_dataset(CountingModel(key="a"), dataset, cache_dir=tmp_path / "c", progress=False)
    other = CountingModel(key="b")
    embed_dataset(other, dataset, cache_dir=tmp_path / "c", progress=False)
    assert other.items_encoded == 6


def test_corrupt_cache_file_is_a_miss(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=3)
    embed_dataset(CountingModel(), dataset, cache_dir=tmp_path / "c", progress=False)
    for path in (tmp_path / "c").rglob("*.npz"):
        path.write_bytes(b"garbage")
    model = CountingModel()
    embed_dataset(model, dataset, cache_dir=tmp_path / "c", progress=False)
    assert model.items_encoded == 6


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=4)
    (tmp_path / "img2.png").write_bytes(b"not a png")
    with pytest.raises(ExportError, match=r"img2\.png: unreadable image"):
        embed_dataset(CountingModel(), dataset, cache_dir=tmp_path / "c", progress=False)


def test_missing_image_names_the_file(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=4)
    (tmp_path / "img1.png").unlink()
    with pytest.raises(ExportError, match=r"img1\.png: image file not found"):
        embed_dataset(CountingModel(), dataset, cache_dir=tmp_path / "c", progress=False)


def test_skip_bad_drops_the_pair_and_lists_it(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=5)
    (tmp_path / "img3.png").write_bytes(b"not a png")
    out = embed_dataset(CountingModel(), dataset, cache_dir=tmp_path / "c", skip_bad=True, progress=False)
    assert [item.id for item in dataset.items] == ["p0", "p1", "p2", "p4"]
    assert len(dataset.skipped) == 1 and "img3.png" in dataset.skipped[0]
    assert out["image"].shape[0] == out["text"].shape[0] == 4
    # Text row 3 now belongs to p4.
    clean = CountingModel().encode_texts([dataset.items[3].text])
    np.testing.assert_allclose(out["text"][3], clean[0] / np.linalg.norm(clean[0]), atol=1e-6)


def test_nan_embeddings_name_the_model(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=3)
    with pytest.raises(ExportError, match="model 'fake:model'.*NaN"):
        embed_dataset(CountingModel(nan=True), dataset, cache_dir=tmp_path / "c", progress=False)
    assert not list((tmp_path / "c").rglob("*.npz"))  # nothing bad was cached


def test_real_open_clip_model_matches_direct_encoding(tiny_checkpoint, tmp_path: Path) -> None:
    from exporter.models import resolve_model

    path, _ = tiny_checkpoint
    model = resolve_model(f"open_clip:TinyTestCLIP:{path}", device="cpu", cache_dir=tmp_path)
    dataset = _dataset(tmp_path, n=5)
    out = embed_dataset(model, dataset, cache_dir=tmp_path / "c", batch_size=2, progress=False)
    direct = model.encode_images([item.image() for item in dataset.items])
    np.testing.assert_allclose(out["image"], direct, atol=1e-5)
    np.testing.assert_allclose(out["text"], model.encode_texts([item.text for item in dataset.items]), atol=1e-5)
