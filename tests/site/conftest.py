"""Fixtures for site-build tests: a small generated export (exporter/synthetic.py,
write_site_export) and the fixture article."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from exporter.synthetic import write_site_export

HERE = Path(__file__).resolve().parent

FIXTURE_ARTICLE = HERE / "fixtures" / "article"

FRONT = """---
title: A Test
authors:
  - name: Ada Lovelace
    affiliation: Engines
date: 2025-01-02
---
"""


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory) -> Path:
    return write_site_export(tmp_path_factory.mktemp("export") / "data")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, export_dir):
    """The fixture article built once: (report, out dir)."""
    from sitebuild import build_site

    out = tmp_path_factory.mktemp("built") / "_site"
    report = build_site(FIXTURE_ARTICLE, export_dir, out)
    return report, out


@pytest.fixture
def article(tmp_path):
    """Write a small article: article({'00-a.md': '...'}, bib='...') -> folder."""

    def write(chapters: dict[str, str], bib: str | None = None, front: bool = True) -> Path:
        folder = tmp_path / "article"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for index, (name, text) in enumerate(chapters.items()):
            body = textwrap.dedent(text).lstrip("\n")
            if front and index == 0:
                body = FRONT + body
            (folder / name).write_text(body, encoding="utf-8")
        if bib is not None:
            (folder / "references.bib").write_text(textwrap.dedent(bib), encoding="utf-8")
        return folder

    return write


@pytest.fixture
def build(tmp_path, export_dir):
    """Build an article folder into tmp_path/_site and return (report, html text)."""
    from sitebuild import build_site

    def run(folder: Path, data: Path | None = None):
        out = tmp_path / "_site"
        report = build_site(folder, export_dir if data is None else data, out)
        return report, (out / "index.html").read_text(encoding="utf-8")

    return run
