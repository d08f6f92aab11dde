"""`python -m exporter export` on a small config: every file follows the data contract."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exporter.contract import EXPORT_MARKER, canonical_json, decode_array, quantisation_step, validate

from ._support import data_files, export_args, leftovers, run_exporter

RESULT_KINDS = ("similarity", "projections", "retrieval", "gap", "zeroshot")
METRIC_KEYS = {
    "centroid_distance", "pair_distance", "relative_gap", "separability", "pair_cosine",
    "cone_image", "cone_text", "loss_i2t", "loss_t2i", "recall_i2t", "recall_t2i", "closed",
}  # fmt: skip
CLOSED_KEYS = {"centroid_distance", "loss_i2t", "loss_t2i", "recall_i2t", "recall_t2i"}


@pytest.fixture(scope="module")
def cli_export(small_config: Path, model_configs: Path, tmp_path_factory) -> tuple[Path, object]:
    """The small config exported by a separate `python -m exporter` process with its own cache."""
    root = tmp_path_factory.mktemp("export_cli")
    out = root / "data"
    result = run_exporter(export_args(small_config, out, root / "cache"), model_configs=model_configs)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def _load(out: Path, relative: str) -> dict:
    return json.loads((out / relative).read_text(encoding="utf-8"))


def test_cli_reports_what_it_wrote(cli_export) -> None:
    out, result = cli_export
    # 2 models x 2 datasets
    assert "wrote 4 results" in result.stdout
    assert "Traceback" not in result.stderr and "error:" not in result.stderr
    assert leftovers(out) == []
    info = _load(out, "build-info.json")
    assert info["pairs_embedded"] == 2 * (8 + 6)
    assert set(info["stage_seconds"]) >= {"datasets", "models", "embed", "similarity", "gap", "projections"}
    # What decides byte-identity across machines is recorded (README: Reproducibility).
    machine = info["machine"]
    import torch

    assert machine["torch"] == torch.__version__ and machine["torch_threads"] >= 1
    assert machine["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert machine["pocket_training_threads"] == 1 and isinstance(machine["cpu_flags"], list)
    assert machine["cpu"]


def test_every_file_validates_and_is_canonical(cli_export) -> None:
    out, _ = cli_export
    manifest = _load(out, "manifest.json")
    validate(manifest, "manifest", where="manifest.json")
    referenced = {"manifest.json", "build-info.json", EXPORT_MARKER}
    for dataset in manifest["datasets"]:
        validate(_load(out, dataset["items"]), "items", where=dataset["items"])
        referenced.add(dataset["items"])
    assert [d["name"] for d in manifest["datasets"]] == ["samples", "colours"]
    assert len(manifest["results"]) == 4
    for result in manifest["results"]:
        # Both datasets have labels, so zero-shot files exist for every pair.
        assert set(result["files"]) == set(RESULT_KINDS)
        for kind, relative in result["files"].items():
            payload = _load(out, relative)
            validate(payload, kind, where=relative)
            referenced.add(relative)
            for step in payload["steps"] if kind == "gap" else []:  # gap.json leads to its step files
                validate(_load(out, step["matrix_file"]), "gap-step", where=step["matrix_file"])
                referenced.add(step["matrix_file"])
    files = data_files(out)
    for relative, data in files.items():
        if relative.endswith(".json"):
            assert data == (canonical_json(json.loads(data)) + "\n").encode("utf-8"), relative
    # Nothing on disk that the manifest does not lead to (thumbnails are led to by items.json).
    stray = {r for r in files if r not in referenced and "/thumbs/" not in r}
    assert stray == set()


def test_manifest_models_and_metric_names(cli_export, checkpoint: Path, tiny_arch: str) -> None:
    out, _ = cli_export
    manifest = _load(out, "manifest.json")
    models = {m["name"]: m for m in manifest["models"]}
    random_model = models[f"open_clip:{tiny_arch}:random"]
    ckpt_model = models[f"open_clip:{tiny_arch}:{checkpoint.as_posix()}"]
    assert random_model["trained"] is False and ckpt_model["trained"] is True
    assert random_model["slug"] == "open-clip-tinytestclip-random" and ckpt_model["slug"] == "tiny-ckpt"
    assert ckpt_model["logit_scale"] == pytest.approx(30.0, rel=1e-4)
    assert ckpt_model["temperature"] == pytest.approx(1 / 30.0, rel=1e-4)
    assert ckpt_model["weights"].startswith("tiny_epoch_2.pt@") and ckpt_model["embed_dim"] == 32
    for model in (random_model, ckpt_model):  # two towers with an open tokenizer, no training record
        assert model["capabilities"] == {
            "encode_images": True,
            "encode_texts": True,
            "precomputed_vectors": False,
            "training_dynamics": False,
            "closed_vocabulary": False,
        }
    for result in manifest["results"]:
        metrics = result["metrics"]
        assert set(metrics) == METRIC_KEYS | {"zeroshot"}
        assert set(metrics["closed"]) == CLOSED_KEYS | {"zeroshot"}
        for direction in ("recall_i2t", "recall_t2i"):
            assert set(metrics[direction]) == {"r1", "r5", "r10"}
            assert set(metrics["closed"][direction]) == {"r1", "r5", "r10"}
        assert set(metrics["zeroshot"]) == {"{}", "a photo of a {}."}
        # Closing the gap shrinks the centroid distance (renormalising leaves a remainder).
        assert metrics["closed"]["centroid_distance"] < metrics["centroid_distance"]


def test_thumbnails_are_small_webp(cli_export) -> None:
    out, _ = cli_export
    longest = []
    for dataset in ("samples", "colours"):
        items = _load(out, f"datasets/{dataset}/items.json")
        for item in items["items"]:
            path = out / "datasets" / dataset / item["image"]
            assert path.suffix == ".webp"
            with Image.open(path) as image:
                assert image.format == "WEBP"
                assert max(image.size) <= 160
                longest.append(max(image.size))
    # The sources are larger than 160 px: they were shrunk to exactly the limit, not cropped to nothing.
    assert max(longest) == 160
    thumbs = list(out.glob("datasets/*/thumbs/*"))
    assert thumbs and all(p.suffix == ".webp" for p in thumbs)


def _shape(obj: dict) -> tuple[int, ...]:
    return tuple(int(s) for s in obj["shape"].split(","))


def test_typed_arrays_decode_to_the_right_shapes(cli_export) -> None:
    out, _ = cli_export
    manifest = _load(out, "manifest.json")
    sizes = {d["name"]: d["n"] for d in manifest["datasets"]}
    assert sizes == {"samples": 8, "colours": 6}
    for result in manifest["results"]:
        n = sizes[result["dataset"]]
        files = {kind: _load(out, rel) for kind, rel in result["files"].items()}

        sim = files["similarity"]
        assert sim["n"] == n and decode_array(sim["matrix"]).shape == (2 * n, 2 * n)
        assert sorted(sim["order"]) == list(range(n))
        assert sum(c["size"] for c in sim["clusters"]) == n

        proj = files["projections"]
        assert proj["methods"] == ["pca"]
        assert len(proj["points"]["pca"]) == len(proj["fractions"]) >= 2
        for points in proj["points"]["pca"]:
            assert points["dtype"] == "i2" and decode_array(points).shape == (2 * n, 2)

        ret = files["retrieval"]
        k = ret["k"]
        assert k == 5
        for direction in ("i2t", "t2i"):
            indices = decode_array(ret[direction]["indices"])
            assert indices.shape == (n, k) and indices.dtype == np.uint16
            assert indices.min() >= 0 and indices.max() < n
            assert all(len(set(row)) == k for row in indices.tolist())
            scores = decode_array(ret[direction]["scores"])
            assert scores.shape == (n, k)
            # best first
            assert np.all(np.diff(scores, axis=1) <= 2 * quantisation_step(ret[direction]["scores"]) + 1e-9)

        gap = files["gap"]
        assert [s["fraction"] for s in gap["steps"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
        for step in gap["steps"]:
            matrix = _load(out, step["matrix_file"])["matrix"]
            assert decode_array(matrix).shape == (2 * n, 2 * n)
            lo, hi = step["matrix_range"]
            values = decode_array(matrix)
            assert lo - 1e-5 <= values.min() and values.max() <= hi + 1e-5  # floats kept to 6 digits
        assert len(gap["landscape"]["delta"]) == 41 == len(gap["landscape"]["loss"])

        zs = files["zeroshot"]
        classes = len(zs["classes"])
        assert len(zs["labels"]) == n
        for run in zs["runs"]:
            probs = decode_array(run["probs"])
            assert probs.shape == (n, classes)
            np.testing.assert_allclose(
                probs.sum(axis=1), 1.0, atol=classes * quantisation_step(run["probs"]) + 1e-6
            )


def test_similarity_is_compact(cli_export) -> None:
    out, _ = cli_export
    manifest = _load(out, "manifest.json")
    for result in manifest["results"]:
        matrix = _load(out, result["files"]["similarity"])["matrix"]
        rows, cols = _shape(matrix)
        cells = rows * cols
        assert matrix["dtype"] == "u1"
        assert len(base64.b64decode(matrix["bdata"])) == cells  # one byte per cell before base64
        assert len(matrix["bdata"]) / cells <= 1.4
        # Every step of the gap slider is as compact.
        for step in _load(out, result["files"]["gap"])["steps"]:
            assert len(_load(out, step["matrix_file"])["matrix"]["bdata"]) / cells <= 1.4


def test_similarity_matches_direct_cosine(cli_export, small_config: Path, tmp_path: Path) -> None:
    """Decoded matrices equal the cosine similarities computed here, in this process, from
    freshly embedded pairs, up to the quantisation step."""
    from exporter.config import load_config
    from exporter.datasets.registry import load_dataset
    from exporter.embed import embed_dataset
    from exporter.models.registry import resolve_model

    out, _ = cli_export
    config = load_config(small_config)
    manifest = _load(out, "manifest.json")
    checked = 0
    for result in manifest["results"]:
        dataset_cfg = next(d for d in config.datasets if d.name == result["dataset"])
        dataset = load_dataset(dataset_cfg, seed=config.options.seed)
        model = resolve_model(result["model"], device="cpu", cache_dir=tmp_path / "cache")
        vectors = embed_dataset(model, dataset, cache_dir=tmp_path / "cache", batch_size=4, progress=False)
        stacked = np.concatenate([vectors["image"], vectors["text"]]).astype(np.float64)
        direct = stacked @ stacked.T
        matrix = _load(out, result["files"]["similarity"])["matrix"]
        decoded = decode_array(matrix)
        tolerance = quantisation_step(matrix) + 1e-5
        assert quantisation_step(matrix) > 0
        assert np.max(np.abs(decoded - direct)) <= tolerance
        # Metrics agree with the same vectors (6 significant digits in the file).
        n = len(dataset.items)
        metrics = result["metrics"]
        assert metrics["pair_cosine"] == pytest.approx(np.mean(np.diag(direct[:n, n:])), abs=1e-5)
        centroid = np.linalg.norm(vectors["image"].mean(0) - vectors["text"].mean(0))
        assert metrics["centroid_distance"] == pytest.approx(centroid, abs=1e-5)
        checked += 1
    assert checked == 4


def test_a_second_process_writes_identical_files(cli_export, reference_export: Path) -> None:
    """The same config exported in this process (other cache, other hash seed) matches byte for byte."""
    out, _ = cli_export
    ours, theirs = data_files(reference_export), data_files(out)
    assert len(ours) > 20  # manifest, 2 items.json, thumbnails, 4 x 5 result files
    assert sorted(ours) == sorted(theirs)
    different = [name for name in ours if ours[name] != theirs[name]]
    assert different == []


def test_models_command_lists_the_kinds() -> None:
    result = run_exporter(["models"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for prefix in ("pocket:", "open_clip:", "cyclip:", "cloob:", "embeddings:"):
        matching = [line for line in lines if line.startswith(prefix)]
        assert len(matching) == 1, result.stdout
        # pattern, then a description
        assert len(matching[0].split()) > 3
