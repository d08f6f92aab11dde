"""`models` and `fetch`: the names a user can write, and bad fetch arguments in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.cli import main
from exporter.pocket import POCKET_MODELS

from ._support import assert_one_error_line


def test_models_lists_every_pocket_model(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "open_clip:<architecture>" in out and "embeddings:<folder>" in out
    for name, spec in POCKET_MODELS.items():
        line = next(row for row in out.splitlines() if row.split()[:1] == [f"pocket:{name}"])
        assert f"objective {spec.objective}" in line and f"{spec.temperature:.4g}" in line, line
    assert "pocket:tau-0.01" in out and "fixed at 0.01" in out
    assert "pocket:infonce" in out and "learnable, starts at 0.07" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--n", "0"], "--n 0: choose at least 1 pair"),
        (["--n", "-3"], "--n -3: choose at least 1 pair"),
        (["--base-url", "notaurl"], "--base-url 'notaurl' is not a URL"),
        (["--base-url", "ftp//x"], "is not a URL"),
        (["--filter", "two words"], "give single words"),
    ],
)
def test_bad_fetch_arguments(args, expected, tmp_path: Path, capsys) -> None:
    out = tmp_path / "coco"
    code = main(["fetch", "coco", "--out", str(out), *args])
    assert code == 1
    line = assert_one_error_line(capsys.readouterr().err)
    assert expected in line, line
    assert not out.exists()
