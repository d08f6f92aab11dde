"""Every bad input: one `error: ...` line, exit 1, no traceback, no partial output.

Each case runs twice: once with no output folder yet (it must not appear) and
once over a previous export (it must stay byte for byte as it was).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ._support import (
    assert_one_error_line,
    config_text,
    export_args,
    export_cli,
    export_refused,
    leftovers,
    run_exporter,
    write_embeddings_folder,
    write_pairs_folder,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _embeddings_config(root: Path) -> str:
    return f"""
[export]
projections = ["pca"]

[[datasets]]
name = "vectors"
kind = "embeddings"
path = "{root.as_posix()}"

[[models]]
spec = "embeddings:{(root / "m1").as_posix()}"
"""


# name -> (build the config in a folder, substrings the error line must contain)
Case = Callable[[Path, str], str]


def _unknown_model_kind(folder: Path, arch: str) -> str:
    return config_text(tiny_arch=arch, pairs=None, checkpoint=None, samples_n=3).replace(
        "open_clip:", "open_clp:"
    )


def _unknown_architecture(folder: Path, arch: str) -> str:
    return config_text(tiny_arch="TinyTestCLP", pairs=None, checkpoint=None, samples_n=3)


def _unknown_dataset_kind(folder: Path, arch: str) -> str:
    return config_text(tiny_arch=arch, pairs=None, checkpoint=None, samples_n=3).replace(
        'kind = "samples"', 'kind = "sample"'
    )


def _malformed_line(folder: Path, arch: str) -> str:
    return config_text(tiny_arch=arch, pairs=None, checkpoint=None, samples_n=3).replace(
        'kind = "samples"', "kind = samples"
    )


def _row_count_mismatch(folder: Path, arch: str) -> str:
    return _embeddings_config(write_embeddings_folder(folder / "vectors", n=5, text_rows=4))


def _nan_embeddings(folder: Path, arch: str) -> str:
    return _embeddings_config(write_embeddings_folder(folder / "vectors", n=5, nan_at=(3, 2)))


def _pairs_config(arch: str, pairs: Path) -> str:
    return config_text(tiny_arch=arch, pairs=pairs, checkpoint=None, samples_n=2)


def _empty_caption(folder: Path, arch: str) -> str:
    return _pairs_config(arch, write_pairs_folder(folder / "colours", empty_caption="green-square"))


def _truncated_jpeg(folder: Path, arch: str) -> str:
    return _pairs_config(arch, write_pairs_folder(folder / "colours", truncated_image="blue-circle"))


def _base(arch: str, **kwargs) -> str:
    return config_text(tiny_arch=arch, pairs=None, checkpoint=None, samples_n=3, **kwargs)


def _export_option(line: str) -> Case:
    """A config whose [export] table gains one line."""
    return lambda folder, arch: _base(arch).replace("clusters = 3", f"clusters = 3\n{line}")


def _dataset_option(line: str) -> Case:
    """A config whose samples dataset gains one line."""
    return lambda folder, arch: _base(arch).replace('kind = "samples"', f'kind = "samples"\n{line}')


def _one_pair_folder(folder: Path, arch: str) -> str:
    pairs = write_pairs_folder(folder / "colours")
    rows = (pairs / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    (pairs / "pairs.jsonl").write_text(rows[0] + "\n", encoding="utf-8")
    return _pairs_config(arch, pairs)


def _checkpoint_file(data: bytes) -> Case:
    def build(folder: Path, arch: str) -> str:
        path = folder / "weights.pt"
        path.write_bytes(data)
        return _base(arch).replace(f"open_clip:{arch}:random", f"open_clip:{arch}:{path.as_posix()}")

    return build


def _truncated_checkpoint(folder: Path, arch: str) -> str:
    import open_clip
    import torch

    full = folder / "full.pt"
    torch.save(open_clip.create_model(arch).state_dict(), full)
    return _checkpoint_file(full.read_bytes()[:5000])(folder, arch)


CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    "negative seed": (
        lambda folder, arch: _base(arch, seed=-5),
        ("export.toml [export]", "'seed' must be between 0 and 4294967295, got -5"),
    ),
    "huge seed": (
        lambda folder, arch: _base(arch, seed=99999999999999999),
        ("export.toml [export]", "'seed' must be between 0 and"),
    ),
    "tiny landscape step": (
        _export_option("landscape_step = 1e-9"),
        ("export.toml [export]", "'landscape_step' 1e-09 gives", "at most 2001"),
    ),
    "infinite landscape stop": (
        _export_option("landscape_stop = inf"),
        ("export.toml [export]", "'landscape_stop' must be a finite number"),
    ),
    "landscape start above stop": (
        _export_option("landscape_start = 6.0"),
        ("'landscape_start' (6.0) must be below 'landscape_stop' (5.0)",),
    ),
    "no gap fractions": (
        _export_option("gap_fractions = []"),
        ("export.toml [export]", "'gap_fractions' is empty"),
    ),
    "NaN gap fraction": (
        _export_option("gap_fractions = [0.0, nan]"),
        ("'gap_fractions' holds nan", "[0, 1]"),
    ),
    "gap fraction above 1": (_export_option("gap_fractions = [0.0, 1.5]"), ("'gap_fractions' holds 1.5",)),
    "huge batch": (
        lambda folder, arch: _base(arch).replace("batch_size = 4", "batch_size = 100000"),
        ("'batch_size' must be between 1 and 4096",),
    ),
    "no projections": (
        lambda folder, arch: _base(arch).replace('projections = ["pca"]', "projections = []"),
        ("'projections' is empty",),
    ),
    "one-pair n": (
        lambda folder, arch: _base(arch).replace("n = 3", "n = 1"),
        ("export.toml [[datasets]] #1", "'n' must be at least 2"),
    ),
    "one-pair folder": (_one_pair_folder, ("dataset 'colours' (pairs)", "only 1 pair", "at least 2")),
    "template without a slot": (
        _dataset_option('templates = ["a photo"]'),
        ("export.toml [[datasets]] #1", "template 'a photo' must hold exactly one '{}'"),
    ),
    "template with a named slot": (
        _dataset_option('templates = ["a {name}"]'),
        ("template 'a {name}' must hold exactly one '{}'",),
    ),
    "match without filter": (_dataset_option('match = "all"'), ("option 'match' needs 'filter'",)),
    "bad match": (_dataset_option('filter = ["cat"]\nmatch = "most"'), ("'match' must be 'any' or 'all'",)),
    "filter matches nothing": (
        _dataset_option('filter = ["zebra", "cat"]\nmatch = "all"'),
        ("dataset 'samples'", "no caption matches", "captions containing 'zebra' and 'cat'"),
    ),
    "text file as checkpoint": (
        _checkpoint_file(b"hello, these are not weights\n"),
        ("weights.pt is a text file, not a PyTorch checkpoint", "save the checkpoint again"),
    ),
    "random bytes as checkpoint": (
        _checkpoint_file(bytes(range(256)) * 40),
        ("weights.pt is not a PyTorch checkpoint (its bytes match no checkpoint format)",),
    ),
    "truncated checkpoint": (
        _truncated_checkpoint,
        ("weights.pt is truncated or damaged (its zip archive is incomplete)",),
    ),
    "unknown model kind": (_unknown_model_kind, ("open_clp", "did you mean 'open_clip")),
    "unknown open_clip architecture": (_unknown_architecture, ("TinyTestCLP", "TinyTestCLIP")),
    "unknown dataset kind": (_unknown_dataset_kind, ("'sample'", "did you mean 'samples'")),
    "malformed config line": (_malformed_line, ("export.toml", "line 11")),
    "mismatched row counts": (_row_count_mismatch, ("text.npy", "4 rows", "5 pairs")),
    "NaN embeddings": (_nan_embeddings, ("image.npy", "row 3", "NaN")),
    "empty caption": (_empty_caption, ("pairs.jsonl", "row 3", "empty caption", "green-square")),
    "unreadable image": (_truncated_jpeg, ("blue-circle.jpg", "--skip-bad")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_in_one_line_and_writes_nothing(
    name: str, tmp_path: Path, tiny_arch: str, shared_cache: Path, reference_export: Path, capsys
) -> None:
    build, expected = CASES[name]
    config = _write(tmp_path / "export.toml", build(tmp_path, tiny_arch))

    # 1. No previous output: none appears.
    fresh = tmp_path / "fresh" / "data"
    fresh.parent.mkdir()
    line = export_refused(capsys, config, fresh, shared_cache)
    for part in expected:
        assert part in line, line
    for misleading in (
        "weights_only",
        "staging",
        "0x",
        "(101)",
        "--cache-dir",
        "trained with this architecture",
    ):
        assert misleading not in line, line
    assert not fresh.exists()

    # 2. Over a previous export: it stays exactly as it was.
    previous = tmp_path / "previous" / "data"
    shutil.copytree(reference_export, previous)
    assert export_refused(capsys, config, previous, shared_cache) == line


@pytest.mark.parametrize(
    ("name", "bad_id", "listed"),
    [
        ("empty caption", "green-square", "empty caption"),
        ("unreadable image", "blue-circle", "blue-circle.jpg"),
    ],
)
def test_skip_bad_skips_lists_and_exports(
    name: str, bad_id: str, listed: str, tmp_path: Path, tiny_arch: str, shared_cache: Path, capsys
) -> None:
    build, _ = CASES[name]
    config = _write(tmp_path / "export.toml", build(tmp_path, tiny_arch))
    out = tmp_path / "data"
    code, stdout, err = export_cli(capsys, config, out, shared_cache, "--skip-bad")
    assert code == 0, err
    assert "error:" not in err and "Traceback" not in err
    skipped_lines = [line for line in err.splitlines() if line.startswith("skipped in colours:")]
    assert len(skipped_lines) == 1 and listed in skipped_lines[0], err
    assert "wrote 2 results" in stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    colours = next(d for d in manifest["datasets"] if d["name"] == "colours")
    assert colours["n"] == 5
    assert len(colours["skipped"]) == 1 and listed in colours["skipped"][0]
    items = json.loads((out / "datasets" / "colours" / "items.json").read_text(encoding="utf-8"))
    assert bad_id not in [item["id"] for item in items["items"]] and len(items["items"]) == 5
    result = next(r for r in manifest["results"] if r["dataset"] == "colours")
    similarity = json.loads((out / result["files"]["similarity"]).read_text(encoding="utf-8"))
    assert similarity["matrix"]["shape"] == "10,10"
    assert leftovers(out) == []


@pytest.mark.parametrize("name", ["malformed config line", "unknown dataset kind"])
def test_real_command_line_prints_one_error_line(name: str, tmp_path: Path, tiny_arch: str) -> None:
    """The same through `python -m exporter`, checking the whole of stderr of a real process."""
    build, expected = CASES[name]
    config = _write(tmp_path / "export.toml", build(tmp_path, tiny_arch))
    out = tmp_path / "data"
    result = run_exporter(export_args(config, out, tmp_path / "cache"))
    assert result.returncode == 1
    line = assert_one_error_line(result.stderr)
    assert all(part in line for part in expected), line
    assert not out.exists() and leftovers(out) == []
    assert result.stdout == ""


def test_debug_shows_the_traceback(tmp_path: Path, tiny_arch: str) -> None:
    build, _ = CASES["unknown dataset kind"]
    config = _write(tmp_path / "export.toml", build(tmp_path, tiny_arch))
    result = run_exporter(["export", "--config", str(config), "--out", str(tmp_path / "data"), "--debug"])
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ExportError" in result.stderr
    assert not (tmp_path / "data").exists() and leftovers(tmp_path / "data") == []
