"""The real-model data committed in article/amumo reproduces what Amumo published."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exporter.amumo import alignment
from exporter.amumo.checks import amumo_loss, gap_distance

ROOT = Path(__file__).resolve().parents[2] / "article" / "amumo"
# Amumo's published numbers for the 100 COCO pairs (gap distance, loss), as printed in its article.
PUBLISHED_COCO = {
    "CLIP": (0.8135, 0.3031, 100.0),
    "CyCLIP": (0.8727, 0.9096, 100.0),
    "CLOOB": (0.2522, 0.8266, 30.0),
    "CLOOB_LAION400M": (0.2903, 0.4362, 30.0),
    "ImageBind": (0.684, 3.628, 1.0),
}

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason="no converted data committed")


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _load(folder: Path) -> dict[str, np.ndarray]:
    return {p.stem: _unit(np.load(p)) for p in folder.glob("*.npy")}


@pytest.mark.parametrize("model", sorted(PUBLISHED_COCO))
def test_coco_reproduces_the_published_gap_and_loss(model: str) -> None:
    gap, loss, scale = PUBLISHED_COCO[model]
    vectors = _load(ROOT / "coco" / model)
    tolerance = 6e-4 if model == "ImageBind" else 6e-5  # published to 3 or 4 decimals
    assert gap_distance(vectors["image"], vectors["text"]) == pytest.approx(gap, abs=tolerance)
    meta = json.loads((ROOT / "coco" / model / "model.json").read_text(encoding="utf-8"))
    image, text = vectors["image"], vectors["text"]
    if meta["import"]["realigned"]:
        # Amumo's loss runs over batches in its own row order: undo our realignment to compare.
        # Amumo's published row k is item pi[k].
        np.random.seed(31415)
        pi = np.random.rand(100).argsort()
        image, text = image[pi], text[pi]
    # float16 storage moves every cosine by at most stored_error, every logit by scale times that.
    bound = scale * meta["import"]["stored_error"] + (6e-4 if model == "ImageBind" else 6e-5)
    assert amumo_loss(image, text, scale) == pytest.approx(loss, abs=bound)
    # The float64 recovery itself reproduced the published loss within 1e-4 at import time.
    assert meta["import"]["loss"] == pytest.approx(meta["import"]["loss_published"], abs=1e-4)


def test_coco_rows_match_their_captions() -> None:
    captions = [json.loads(line)["text"] for line in (ROOT / "coco" / "pairs.jsonl").read_text().splitlines()]
    reference = alignment.caption_similarity(captions)
    for model in PUBLISHED_COCO:
        text = _load(ROOT / "coco" / model)["text"]
        _, z = alignment.evidence(text @ text.T, reference)
        assert z > alignment.ALIGNED_Z, model


def test_every_committed_model_matches_its_meta_info() -> None:
    checked = 0
    for report_file in ROOT.glob("*/import-report.json"):
        report = json.loads(report_file.read_text(encoding="utf-8"))
        for row in report["models"]:
            if row["refused"]:
                continue
            vectors = _load(report_file.parent / row["model"])
            m0, m1 = report["modalities"][:2]
            assert gap_distance(vectors[m0], vectors[m1]) == pytest.approx(row["gap_published"], abs=1e-4)
            for pair, values in row.get("pairs", {}).items():  # three modalities: every published pair
                a, b = (m for m in report["modalities"] if pair.startswith(m + "_") or pair.endswith("_" + m))
                assert gap_distance(vectors[a], vectors[b]) == pytest.approx(
                    values["gap_published"], abs=1e-4
                )
                checked += 1
            checked += 1
    assert checked >= 25  # 22 models, and the triplets' three modality pairs


def test_augmentation_series_are_complete_and_match_their_gaps() -> None:
    series = json.loads((ROOT / "augmentation" / "series.json").read_text(encoding="utf-8"))
    assert [a["name"] for a in series["augmentations"]] == ["rotate", "blur", "noise", "hshift", "vshift"]
    assert len(series["bases"]) == 10
    for model_json in (ROOT / "augmentation").glob("*/model.json"):
        meta = json.loads(model_json.read_text(encoding="utf-8"))
        assert len(meta["series"]) == 50
        for key, info in meta["series"].items():
            x = _unit(np.load(model_json.parent / f"{key}.npy"))
            assert x.shape == (series["steps"] + 1, info["rank"])
            # 100 steps against one repeated caption: the gap is the distance of the step centroid to it.
            gap = np.linalg.norm(x[:-1].mean(axis=0) - x[-1])
            assert gap == pytest.approx(info["gap_published"], abs=series["max_error"]), key
