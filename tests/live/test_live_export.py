"""exporter/live through the pipeline: a tiny pocket model (trained in about a second) exported
with its towers for the page; the files agree with the rest of the export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exporter.config import parse_config
from exporter.contract import decode_array, validate
from exporter.errors import ExportError
from exporter.live.towers import run_onnx
from exporter.pocket import registry
from exporter.pocket.scenes import display_pairs
from tests.pocket._tiny import tiny_spec

pytestmark = pytest.mark.slow

CONFIG = """
[export]
seed = 31415
projections = ["gap", "pca"]
[[datasets]]
name = "shapes"
kind = "shapes"
n = 12
saliency_descriptions = ["a red shape", "a circle"]
[[models]]
spec = "pocket:tiny-live"
label = "tiny"
saliency_descriptions = ["something blue"]
"""


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from exporter.pipeline import run_export

    monkey = pytest.MonkeyPatch()
    monkey.setitem(registry.POCKET_MODELS, "tiny-live", tiny_spec())
    root = tmp_path_factory.mktemp("live-export")
    config = parse_config(CONFIG, root / "export.toml")
    try:
        run_export(config, root / "data", cache_dir=root / "cache", device="cpu")
    finally:
        monkey.undo()
    return root / "data"


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_manifest_lists_the_bundle_and_its_size(export):
    manifest = _load(export / "manifest.json")
    validate(manifest, "manifest", where="manifest")
    (entry,) = manifest["live"]
    assert entry["model"] == "pocket:tiny-live" and entry["towers"] == ["image", "text"]
    bundle = _load(export / entry["file"])
    validate(bundle, "live", where="live.json")
    files = [export / t["file"] for t in bundle["towers"].values()]
    assert entry["bytes"] == sum(f.stat().st_size for f in files)


def test_onnx_towers_reproduce_the_exported_embeddings(export):
    bundle = _load(export / "live" / "pocket-tiny-live" / "live.json")
    data = bundle["datasets"]["shapes"]
    scenes = display_pairs(12)
    # Text: the tokenizer description + ONNX text tower give the stored embeddings.
    vocab = {w: i for i, w in enumerate(bundle["tokenizer"]["vocab"])}
    length = bundle["tokenizer"]["context_length"]
    tokens = np.zeros((12, length), dtype=np.int64)
    for row, scene in enumerate(scenes):
        ids = [1, *(vocab.get(w, 2) for w in scene.caption.split()), len(vocab) - 1]
        tokens[row, : len(ids)] = ids
    text = run_onnx((export / bundle["towers"]["text"]["file"]).read_bytes(), tokens)
    assert np.abs(text - decode_array(data["text"])).max() <= 1e-4
    # Image: the lossless input sheet + the stored mean/std + the ONNX image tower.
    sheet = np.asarray(Image.open(io.BytesIO((export / data["inputs"]["file"]).read_bytes())).convert("RGB"))
    size, cols = data["inputs"]["size"], data["inputs"]["cols"]
    crops = [
        sheet[(i // cols) * size : (i // cols + 1) * size, (i % cols) * size : (i % cols + 1) * size]
        for i in range(12)
    ]
    mean, std = np.array(bundle["image"]["mean"]), np.array(bundle["image"]["std"])
    pixels = ((np.stack(crops) / 255.0 - mean) / std).transpose(0, 3, 1, 2).astype(np.float32)
    image = run_onnx((export / bundle["towers"]["image"]["file"]).read_bytes(), pixels)
    assert np.abs(image - decode_array(data["image"])).max() <= 1e-4


def test_projection_frames_reproduce_the_exported_points(export):
    bundle = _load(export / "live" / "pocket-tiny-live" / "live.json")
    data = bundle["datasets"]["shapes"]
    stacked = np.vstack([decode_array(data["image"]), decode_array(data["text"])])
    points = _load(export / "results" / "pocket-tiny-live" / "shapes" / "projections.json")["points"]
    for method in ("gap", "pca"):
        frame = data["projections"][method]
        placed = stacked @ decode_array(frame["axes"]).T + np.array(frame["bias"])
        stored = points[method]["original"]
        # i2 quantisation: half a step of the stored scale, plus float32 embeddings.
        assert np.abs(placed - decode_array(stored)).max() <= stored["scale"] + 1e-5, method
    centroid = np.array(data["centroids"]["text"])
    assert np.allclose(centroid, decode_array(data["text"]).mean(0), atol=1e-5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('live = "yes"', "'live' must be true, false or \"text\""),
        ("live_int8 = true\nlive = false", "'live_int8' needs live"),
        ("live_int8 = 1", "'live_int8' must be bool"),
        ('live = "text"', "'saliency_descriptions' needs the image tower in the page"),
    ],
)
def test_bad_live_settings_fail_in_one_line(tmp_path, extra, message):
    text = CONFIG.replace('label = "tiny"', f'label = "tiny"\n{extra}')
    with pytest.raises(ExportError, match=message) as info:
        parse_config(text, tmp_path / "x.toml")
    assert "\n" not in str(info.value)


def test_live_defaults_on_for_pocket_and_off_elsewhere(tmp_path):
    text = CONFIG + '\n[[models]]\nspec = "open_clip:RN50:random"\n'
    pocket, other = parse_config(text, tmp_path / "x.toml").models
    assert (pocket.live, other.live) == ("both", "off")
    text = CONFIG + '\n[[models]]\nspec = "embeddings:somewhere"\nlive = "text"\n'
    with pytest.raises(ExportError, match="only pocket: and open_clip: models can run in the page"):
        parse_config(text, tmp_path / "x.toml")
    text = CONFIG + '\n[[models]]\nspec = "open_clip:RN50:random"\nlive = "text"\nlive_int8 = true\n'
    _, opted = parse_config(text, tmp_path / "x.toml").models
    assert (opted.live, opted.live_int8) == ("text", True)


def test_gradcam_maps_and_the_pointing_game_are_exported(export):
    manifest = _load(export / "manifest.json")
    (entry,) = manifest["live"]
    game = entry["pointing_game"]["shapes"]
    assert game["layer"] == "layer2" and game["trials"] >= 12
    assert 0.0 <= game["fraction"] <= 1.0 and 0.0 < game["chance"] < 1.0
    bundle = _load(export / entry["file"])
    saliency = _load(export / bundle["datasets"]["shapes"]["saliency"])
    assert decode_array(saliency["caption"]).shape == (12, 64)
    rows = saliency["pointing"]["rows"]
    assert len(rows) == game["trials"]
    assert sum(r["hit"] for r in rows) / len(rows) == game["fraction"]
    scenes = display_pairs(12)
    # Each trial names an object of its scene and its box is that object's.
    for row in rows:
        obj = next(o for o in scenes[row["item"]].objects if o.phrase() == row["text"])
        assert abs((row["box"][0] + row["box"][2]) / 2 - obj.x) < 1e-4


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"a red circle"', "'saliency_descriptions' must be list"),
        ('["a red circle", 3]', "'saliency_descriptions entry' must be str"),
        ('["a red circle", "  "]', "has an empty description"),
        ('["a red circle", "a red circle"]', "'a red circle' is listed twice"),
        ('["' + "x" * 201 + '"]', "longer than 200 characters"),
        ("[" + ", ".join(f'"d{i}"' for i in range(33)) + "]", "33 saliency descriptions; at most 32"),
    ],
)
def test_bad_saliency_descriptions_fail_in_one_line(tmp_path, value, message):
    for where, anchor in (("[[datasets]] #1", "n = 12\n"), ("[[models]] #1", 'label = "tiny"\n')):
        text = CONFIG.replace("saliency_descriptions", "# saliency_descriptions").replace(
            anchor, f"{anchor}saliency_descriptions = {value}\n", 1
        )
        with pytest.raises(ExportError, match=message) as info:
            parse_config(text, tmp_path / "x.toml")
        assert "\n" not in str(info.value) and where in str(info.value)


def test_configured_descriptions_parse_per_dataset_and_model(tmp_path):
    config = parse_config(CONFIG, tmp_path / "x.toml")
    assert config.datasets[0].saliency_descriptions == ("a red shape", "a circle")
    assert config.models[0].saliency_descriptions == ("something blue",)
    assert "saliency_descriptions" not in config.datasets[0].options  # not a dataset-loader option


def test_configured_descriptions_get_precomputed_gradcam_maps(export):
    from exporter.pocket.scenes import SHAPES

    manifest = _load(export / "manifest.json")
    bundle = _load(export / manifest["live"][0]["file"])
    payload = _load(export / bundle["datasets"]["shapes"]["saliency"])
    texts = [d["text"] for d in payload["descriptions"]]
    # The per-class descriptions first ("a circle" is one of them, kept once), then the dataset's, then the model's.
    assert texts[-2:] == ["a red shape", "something blue"]
    assert [t[2:] for t in texts[:-2]] == [c for c in SHAPES if f"a {c}" in texts[:-2]] and len(texts) >= 4
    assert texts.count("a circle") == 1
    maps = {d["text"]: decode_array(d["maps"]) for d in payload["descriptions"]}
    assert maps["a red shape"].shape == (12, payload["grid"] ** 2)
    assert not np.allclose(maps["a red shape"], maps["something blue"])


def test_only_another_dataset_keeps_the_live_bundle(tmp_path):
    """--only DATASET skips a model with no results there: its live entry (bundle, Grad-CAM,
    pointing game) stays as the full export wrote it instead of being rewritten without datasets."""
    from exporter.pipeline import run_export

    config_text = CONFIG.replace('label = "tiny"', 'label = "tiny"\ndatasets = ["shapes"]') + (
        '[[datasets]]\nname = "samples"\nkind = "samples"\ntemplates = ["{}"]\n'
        '[[models]]\nspec = "pocket:tiny-other"\nlabel = "other"\ndatasets = ["samples"]\nlive = false\n'
    )
    monkey = pytest.MonkeyPatch()
    monkey.setitem(registry.POCKET_MODELS, "tiny-live", tiny_spec())
    monkey.setitem(registry.POCKET_MODELS, "tiny-other", tiny_spec())
    try:
        config = parse_config(config_text, tmp_path / "export.toml")
        out = tmp_path / "data"
        run_export(config, out, cache_dir=tmp_path / "cache", device="cpu")
        before = _load(out / "manifest.json")
        run_export(config, out, cache_dir=tmp_path / "cache", device="cpu", only={"samples"})
        after = _load(out / "manifest.json")
    finally:
        monkey.undo()
    assert "shapes" in before["live"][0]["pointing_game"], "the full export measures the pointing game"
    assert after["live"] == before["live"]
    assert {r["model"] for r in after["results"]} == {"pocket:tiny-live", "pocket:tiny-other"}
