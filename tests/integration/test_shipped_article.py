"""The article that ships in article/ builds from its committed data, and that data
follows the contract. (GitHub Pages builds exactly this, without torch.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.contract import validate
from sitebuild import build_site

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "article"
DATA = ARTICLE / "data"
SCHEMA_OF_FILE = {
    "similarity": "similarity",
    "projections": "projections",
    "retrieval": "retrieval",
    "gap": "gap",
    "zeroshot": "zeroshot",
}

pytestmark = pytest.mark.skipif(not (DATA / "manifest.json").exists(), reason="no committed export yet")


def test_committed_data_follows_the_contract():
    manifest = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))
    validate(manifest, "manifest", where="manifest.json")
    for dataset in manifest["datasets"]:
        validate(
            json.loads((DATA / dataset["items"]).read_text(encoding="utf-8")), "items", where=dataset["items"]
        )
    for result in manifest["results"]:
        for kind, rel in result["files"].items():
            payload = json.loads((DATA / rel).read_text(encoding="utf-8"))
            validate(payload, SCHEMA_OF_FILE[kind], where=rel)
            for step in payload["steps"] if kind == "gap" else []:
                step_file = json.loads((DATA / step["matrix_file"]).read_text(encoding="utf-8"))
                validate(step_file, "gap-step", where=step["matrix_file"])
    for entry in manifest.get("augmentations", []):
        validate(
            json.loads((DATA / entry["file"]).read_text(encoding="utf-8")),
            "augmentation",
            where=entry["file"],
        )
    for entry in manifest["training"]:
        validate(
            json.loads((DATA / entry["file"]).read_text(encoding="utf-8")), "training", where=entry["file"]
        )


def test_shipped_article_builds(tmp_path):
    report = build_site(ARTICLE, DATA, tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Understanding and Comparing Multimodal Models" in html
    assert report.figures >= 10
    assert report.warnings == []
