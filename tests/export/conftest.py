"""Session fixtures of the export tests: the tiny open_clip architecture (tests/conftest.py)
for subprocesses, a checkpoint, input folders, a shared embedding cache and one reference export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ..conftest import TINY_ARCH, TINY_CONFIG
from ._support import config_text, export_args, write_pairs_folder

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def model_configs(tiny_arch: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the tiny architecture's JSON for subprocesses to register
    (this process has it from tests/conftest.py's tiny_arch; see _support.run_exporter)."""
    assert tiny_arch == TINY_ARCH
    folder = tmp_path_factory.mktemp("export_open_clip_configs")
    (folder / f"{TINY_ARCH}.json").write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def checkpoint(tiny_arch: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random weights saved as open_clip training saves them (module.-prefixed state_dict)."""
    import open_clip

    torch.manual_seed(11)
    model = open_clip.create_model(tiny_arch, pretrained=None).eval()
    with torch.no_grad():
        model.logit_scale.fill_(float(torch.log(torch.tensor(30.0))))
    path = tmp_path_factory.mktemp("export_ckpt") / "tiny_epoch_2.pt"
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"epoch": 2, "state_dict": state}, path)
    return path


@pytest.fixture(scope="session")
def pairs_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pairs_folder(tmp_path_factory.mktemp("export_pairs") / "colours")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the tests that do not test the cache itself."""
    return tmp_path_factory.mktemp("export_cache")


@pytest.fixture(scope="session")
def small_config(tiny_arch: str, pairs_folder: Path, checkpoint: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export_config") / "export.toml"
    path.write_text(
        config_text(tiny_arch=tiny_arch, pairs=pairs_folder, checkpoint=checkpoint), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="session")
def reference_export(small_config: Path, shared_cache: Path, tmp_path_factory) -> Path:
    """The small config exported once in this process; tests copy it before touching it."""
    from exporter.cli import main

    out = tmp_path_factory.mktemp("export_reference") / "data"
    assert main(export_args(small_config, out, shared_cache)) == 0
    return out
