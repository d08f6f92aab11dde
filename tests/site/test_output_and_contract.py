"""The site build refuses unsafe --out values and exports that break the data contract, in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from exporter.contract import SCHEMA_VERSION
from sitebuild.cli import main


def _fail(argv: list[str], capsys) -> str:
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _args(article: Path, data: Path, out: Path) -> list[str]:
    return ["--article", str(article), "--data", str(data), "--out", str(out)]


def test_out_under_a_file(article, export_dir, tmp_path, capsys):
    folder = article({"00-a.md": "# A\n"})
    (tmp_path / "notes.txt").write_text("keep", encoding="utf-8")
    line = _fail(_args(folder, export_dir, tmp_path / "notes.txt" / "_site"), capsys)
    assert "notes.txt" in line and "which is a file" in line
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep"


def test_out_is_a_file(article, export_dir, tmp_path, capsys):
    folder = article({"00-a.md": "# A\n"})
    target = tmp_path / "index.html"
    target.write_text("keep", encoding="utf-8")
    line = _fail(_args(folder, export_dir, target), capsys)
    assert "is a file" in line and target.read_text(encoding="utf-8") == "keep"


def _spoiled_export(export_dir: Path, tmp_path: Path, spoil) -> Path:
    data = tmp_path / "data"
    shutil.copytree(export_dir, data)
    path = data / "manifest.json"
    path.write_text(spoil(path.read_text(encoding="utf-8")), encoding="utf-8")
    return data


def _set(key: str, value):
    def spoil(text: str) -> str:
        manifest = json.loads(text)
        manifest[key] = value
        return json.dumps(manifest)

    return spoil


def _nan_temperature(text: str) -> str:
    manifest = json.loads(text)
    manifest["models"][0]["temperature"] = float("nan")
    return json.dumps(manifest)  # Python writes NaN; browsers cannot read it


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (_set("schema_version", 99), f"schema_version 99 is not the one this site build reads ({SCHEMA_VERSION})"),
        (_set("schema_version", "1"), "schema_version '1' is not the one"),
        (_nan_temperature, "holds NaN"),
        (_set("models", [{"name": "x"}]), "does not match the data contract at models/0"),
    ],
)
def test_manifest_breaking_the_contract_fails_the_build(
    spoil, expected, article, export_dir, tmp_path, capsys
):
    folder = article({"00-a.md": "# A\n\nProse only.\n"})
    data = _spoiled_export(export_dir, tmp_path, spoil)
    out = tmp_path / "_site"
    line = _fail(_args(folder, data, out), capsys)
    assert "manifest.json" in line and expected in line, line
    assert not out.exists()
