"""The scale options of [export] fail in one line that names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.config import parse_config
from exporter.errors import ExportError

BODY = """
[[datasets]]
kind = "samples"

[[models]]
spec = "pocket:infonce"
"""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("figure_pairs = 1", "'figure_pairs' must be at least 2"),
        ("bootstrap = 5", "'bootstrap' must be at least 10"),
        ("confidence = 1.5", "'confidence' must lie strictly between 0 and 1"),
        ('engine = "spark"', "unknown engine 'spark'"),
        ("ray_workers = 0", "'ray_workers' must be at least 1"),
        ("ray_gpus = -1", "'ray_gpus' .GPUs per encoder worker. must be between 0 and 64"),
        ("embeddings_above = -1", "'embeddings_above' must be between 0 and"),
    ],
)
def test_bad_scale_options_name_the_key(line: str, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        parse_config(f"[export]\n{line}\n{BODY}", Path("export.toml"))


def test_scale_options_parse() -> None:
    config = parse_config(
        f'[export]\nfigure_pairs = 50\nbootstrap = 200\nconfidence = 0.9\nengine = "ray"\nray_gpus = 1\n'
        f"embeddings_above = 300\n{BODY}",
        Path("export.toml"),
    )
    options = config.options
    assert (options.figure_pairs, options.bootstrap, options.confidence, options.engine) == (
        50,
        200,
        0.9,
        "ray",
    )
    assert (options.ray_gpus, options.embeddings_above) == (1.0, 300)
