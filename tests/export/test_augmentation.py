"""Augmentation series: the transforms, the curves, our own export (any model with an
image encoder) and a precomputed series folder in the layout the Amumo import writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exporter.augment import AUGMENTATIONS, series_curves
from exporter.config import parse_config
from exporter.contract import decode_array
from exporter.errors import ExportError
from exporter.pipeline import run_export
from tests.series import own_series_config, photo, series_folder


def test_transforms_follow_amumo_definitions():
    image, rng = photo(), np.random.default_rng(0)
    pixels = lambda im: np.asarray(im, dtype=np.float64)  # noqa: E731
    # Step 0 of rotate, blur and noise is the untouched image; a shift's original is its middle step.
    for name in ("rotate", "blur", "noise"):
        augmentation = AUGMENTATIONS[name]
        assert augmentation.original(21) == 0
        np.testing.assert_array_equal(
            pixels(augmentation.apply(image, augmentation.values(21)[0], rng)), pixels(image)
        )
    assert AUGMENTATIONS["hshift"].original(21) == 10 and AUGMENTATIONS["hshift"].values(21)[10] == 0
    # The ends of a shift are black (the image slid out of the frame), as in Amumo's steps 0 and 99.
    assert pixels(AUGMENTATIONS["vshift"].apply(image, -1.0, rng)).max() == 0
    # More blur, further from the original.
    blur = AUGMENTATIONS["blur"]
    errors = [np.abs(pixels(blur.apply(image, v, rng)) - pixels(image)).mean() for v in blur.values(5)]
    assert errors == sorted(errors) and errors[-1] > 5


def test_curves_against_direct_computation():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(3, 7, 5))
    captions = rng.normal(size=(3, 5))
    curves = series_curves(images, captions, 2, shared_frame=True)
    unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
    b, s = 1, 4
    assert curves["image_caption"][b, s] == pytest.approx(unit(images[b, s]) @ unit(captions[b]))
    assert curves["image_original"][b, s] == pytest.approx(unit(images[b, s]) @ unit(images[b, 2]))
    assert np.allclose(curves["image_original"][:, 2], 1.0)
    # Amumo's series gap: all steps against the (repeated) caption.
    steps = np.stack([unit(v) for v in images[b]])
    assert curves["series_gap"][b] == pytest.approx(np.linalg.norm(steps.mean(axis=0) - unit(captions[b])))
    # The per-step gap exists only where all bases share one frame.
    assert curves["gap"].shape == (7,)
    assert series_curves(images, captions, 2, shared_frame=False)["gap"] is None


def series_config(folder: Path, config_path: Path):
    """An export of nothing but a precomputed series (no pair datasets, no models)."""
    text = f'[[augmentation_series]]\nname = "amumo-augment"\npath = "{folder.as_posix()}"\ndescription = "test series"\n'
    return parse_config(text, config_path)


def test_precomputed_series_export(tmp_path):
    folder, truth = series_folder(tmp_path / "series")
    config = series_config(folder, tmp_path / "export.toml")
    out = tmp_path / "out"
    run_export(config, out, cache_dir=tmp_path / "cache", device="cpu")
    manifest = json.loads((out / "manifest.json").read_text())
    (entry,) = manifest["augmentations"]
    assert entry == {
        "model": "amumo-augment:CLIP",
        "label": "CLIP RN50",
        "dataset": "amumo-augment",
        "file": "results/amumo-augment-clip/amumo-augment/augmentation.json",
        "shared_frame": False,
    }
    items = json.loads((out / "datasets/amumo-augment/items.json").read_text())["items"]
    assert items[1]["text"] == "a cat" and items[1]["extra"]["credit"] == "DiffusionDB (CC0 1.0)"
    payload = json.loads((out / entry["file"]).read_text())
    shift = payload["augmentations"][1]
    assert shift["original"] == 3 and shift["gap"] is None
    rows = truth[("hshift", "1")]
    expected = rows[:-1] @ rows[-1]  # image-caption cosine, unchanged by the frame
    got = decode_array(shift["image_caption"])[1]
    assert np.abs(got - expected).max() < 2e-3 + shift["image_caption"]["scale"]
    expected_gap = np.linalg.norm(rows[:-1].mean(axis=0) - rows[-1])
    assert shift["series_gap"][1] == pytest.approx(expected_gap, abs=2e-3)


def test_series_folder_errors_name_the_file(tmp_path):
    folder, _ = series_folder(tmp_path / "series")
    (folder / "CLIP" / "blur" / "1.npy").unlink()
    from exporter.augment import load_series_folder, precomputed_series

    with pytest.raises(ExportError, match=r"1\.npy: missing or unreadable"):
        list(precomputed_series(load_series_folder(folder), "CLIP"))
    with pytest.raises(ExportError, match="series.json not found"):
        load_series_folder(tmp_path)


def test_unknown_augmentation_is_refused(tmp_path):
    with pytest.raises(ExportError, match="unknown augmentation 'rotat'.*rotate"):
        parse_config(
            '[export]\naugmentations = ["rotat"]\n[[datasets]]\nkind = "samples"\n[[models]]\nspec = "pocket:infonce"\n',
            tmp_path / "x.toml",
        )


def test_own_model_series(tmp_path, tiny_arch):
    """Any model with an image encoder gets the series on its own data (a tiny open_clip model here)."""
    config = parse_config(
        own_series_config(tiny_arch, n=4, steps=4),
        tmp_path / "export.toml",
    )
    out = tmp_path / "out"
    run_export(config, out, cache_dir=tmp_path / "cache", device="cpu")
    manifest = json.loads((out / "manifest.json").read_text())
    (entry,) = manifest["augmentations"]
    assert entry["shared_frame"] is True and entry["dataset"] == "samples"
    payload = json.loads((out / entry["file"]).read_text())
    assert len(payload["bases"]) == 3
    for augmentation in payload["augmentations"]:
        original = decode_array(augmentation["image_original"])
        assert original.shape == (3, 4)
        assert np.allclose(original[:, 0], original.max(), atol=augmentation["image_original"]["scale"])
        assert len(augmentation["gap"]) == 4
