"""`python -m exporter import amumo`: a folder the test writes, with a permuted and a broken model."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from exporter.analyses import metrics
from exporter.cli import main
from exporter.datasets import load_dataset
from exporter.embed import embed_dataset
from exporter.models import resolve_model
from tests.datasets._support import Cfg

from .amumo_folder import MULTILINE_ITEM, N, captions, seed_permutation, write_folder

MODELS = {
    "CLIP": {"seed": 1, "scale": 100.0},
    "CyCLIP": {"seed": 2, "scale": 100.0, "rows": seed_permutation()},  # Amumo's known row-order bug
    "CLOOB": {"seed": 3, "scale": 30.0, "rows": np.random.default_rng(5).permutation(N)},  # unknown shuffle
    "CLOOB_LAION400M": {"seed": 4, "scale": 30.0, "format": "npy"},  # float32 values
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("amumo") / "Toy_size-60"
    return root, write_folder(root, MODELS)


@pytest.fixture(scope="module")
def imported(folder, tmp_path_factory) -> tuple[Path, str, str]:
    root, _ = folder
    out = tmp_path_factory.mktemp("imported") / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(["import", "amumo", str(root), "--out", str(out), "--skip-bad"]) == 0
    return out, stdout.getvalue(), stderr.getvalue()


def test_unalignable_model_is_refused_with_one_line(folder, tmp_path, capsys) -> None:
    root, _ = folder
    assert main(["import", "amumo", str(root), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "model 'CLOOB': its rows do not match the folder's captions" in err
    assert "--skip-bad" in err
    assert not (tmp_path / "out").exists()


def test_skip_bad_imports_realigns_and_reports(folder, imported) -> None:
    _, truths = folder
    out, stdout, stderr = imported
    table = {line.split()[0]: line for line in stdout.splitlines() if line.split()[:1] != []}
    assert "realigned by argsort(π)" in table["CyCLIP"] and "aligned: z" in table["CLIP"]
    assert "rows do not match" in table["CLOOB"]
    assert "skipped model CLOOB" in stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "CLIP",
        "CLOOB_LAION400M",
        "CyCLIP",
        "media",
    ]
    # The realigned model's rows are the items again: its Gram matrix is the true one.
    for name in ("CLIP", "CyCLIP", "CLOOB_LAION400M"):
        x = np.concatenate([np.load(out / name / "image.npy"), np.load(out / name / "text.npy")]).astype(
            float
        )
        assert np.load(out / name / "image.npy").dtype == np.float16
        np.testing.assert_allclose(x @ x.T, truths[name], atol=3e-3)
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == N and [r["text"] for r in rows] == captions()
    assert rows[MULTILINE_ITEM + 1]["text"] == captions()[MULTILINE_ITEM + 1]
    assert all((out / r["image"]).is_file() and r["licence"] for r in rows)
    report = json.loads((out / "import-report.json").read_text(encoding="utf-8"))
    by_model = {m["model"]: m for m in report["models"]}
    assert by_model["CLOOB_LAION400M"]["precision"] == "float32"
    assert by_model["CyCLIP"]["alignment_status"] == "realigned" and by_model["CLOOB"]["refused"]
    meta = json.loads((out / "CyCLIP" / "model.json").read_text(encoding="utf-8"))
    assert meta["logit_scale"] == 100.0 and meta["family"] == "cyclip"


def test_output_exports_the_published_gap(folder, imported, tmp_path) -> None:
    root, _ = folder
    out = imported[0]
    dataset = load_dataset(Cfg("toy", "embeddings", {"path": str(out)}), seed=1)
    model = resolve_model(f"embeddings:{out / 'CyCLIP'}", cache_dir=tmp_path)
    vectors = embed_dataset(model, dataset, cache_dir=tmp_path / "c", progress=False)
    measured = metrics.gap_metrics(vectors["image"], vectors["text"], logit_scale=model.info.logit_scale)
    published = json.loads((root / "similarities" / "CyCLIP_meta_info.json").read_text())["gap_distance"]
    assert measured["centroid_distance"] == pytest.approx(published, abs=1e-4)


def test_meta_info_mismatch_and_unknown_model_are_refused(tmp_path, capsys) -> None:
    root = tmp_path / "Bad_size-60"
    write_folder(root, {"CLIP": {"seed": 1, "scale": 100.0, "gap_offset": 0.01}})
    assert main(["import", "amumo", str(root), "--out", str(tmp_path / "o")]) == 1
    assert "model 'CLIP': recovered gap" in capsys.readouterr().err
    other = tmp_path / "Unknown_size-60"
    write_folder(other, {"CLIPP": {"seed": 1, "scale": 100.0}})
    assert main(["import", "amumo", str(other), "--out", str(tmp_path / "o")]) == 1
    assert "Amumo model 'CLIPP' is not known" in capsys.readouterr().err
    assert main(["import", "amumo", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 1
    assert "folder not found" in capsys.readouterr().err
