"""Same config and seed, twice, into two folders with two caches: byte-identical data files.

This is the one export test that runs UMAP and t-SNE (seeded); the others use PCA only.
The cross-process check is in test_export_end_to_end.
"""

from __future__ import annotations

import json
from pathlib import Path

from exporter.cli import main

from ._support import config_text, data_files, export_args, leftovers


def test_same_inputs_and_seed_give_identical_files(
    tmp_path: Path, tiny_arch: str, pairs_folder: Path
) -> None:
    config = tmp_path / "export.toml"
    config.write_text(
        config_text(
            tiny_arch=tiny_arch, pairs=pairs_folder, checkpoint=None, projections=("pca", "umap", "tsne")
        ),
        encoding="utf-8",
    )
    outputs = []
    for run in ("first", "second"):
        out = tmp_path / run / "data"
        assert main(export_args(config, out, tmp_path / run / "cache")) == 0
        assert leftovers(out) == []
        outputs.append(out)
    first, second = (data_files(out) for out in outputs)
    assert len(first) > 10 and sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    # build-info.json exists in both but is the one file allowed to differ.
    assert all((out / "build-info.json").is_file() for out in outputs)
    manifest = json.loads(first["manifest.json"])
    projections = json.loads(first[manifest["results"][0]["files"]["projections"]])
    assert projections["methods"] == ["pca", "umap", "tsne"]


def test_another_seed_changes_the_seeded_parts(tmp_path: Path, tiny_arch: str, pairs_folder: Path) -> None:
    """The seed really reaches the export (otherwise byte-identity above would be trivial)."""
    manifests = []
    for seed in (31415, 7):
        config = tmp_path / f"export-{seed}.toml"
        config.write_text(
            config_text(tiny_arch=tiny_arch, pairs=None, checkpoint=None, seed=seed), encoding="utf-8"
        )
        out = tmp_path / f"data-{seed}"
        assert main(export_args(config, out, tmp_path / "cache")) == 0
        manifests.append(json.loads((out / "manifest.json").read_text(encoding="utf-8")))
    assert [m["seed"] for m in manifests] == [31415, 7]
    # Random weights are seeded with the config's seed, so the embeddings (and metrics) differ.
    assert manifests[0]["results"][0]["metrics"] != manifests[1]["results"][0]["metrics"]
