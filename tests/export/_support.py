"""Helpers for the export-stage tests: configs, input folders, output snapshots, CLI runs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from exporter.cli import main

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

# Colours and labels of the generated pairs: two classes so zero-shot has something to tell apart.
PAIR_ROWS = [
    ("red-square", (220, 30, 30), "square", "a red square on a plain background"),
    ("blue-circle", (30, 40, 210), "circle", "a blue circle in the middle"),
    ("green-square", (30, 200, 60), "square", "a green square seen from above"),
    ("yellow-circle", (230, 220, 40), "circle", "a yellow circle, slightly blurred"),
    ("purple-square", (140, 40, 160), "square", "a purple square with sharp corners"),
    ("orange-circle", (240, 140, 20), "circle", "an orange circle on grey"),
]


def make_image(colour: tuple[int, int, int], size: tuple[int, int], seed: int) -> Image.Image:
    """A coloured image with some noise so that thumbnails and embeddings differ per item."""
    rng = np.random.default_rng(seed)
    base = np.empty((size[1], size[0], 3), dtype=np.int16)
    base[:] = colour
    noise = rng.integers(-25, 26, base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def write_pairs_folder(
    folder: Path,
    *,
    empty_caption: str | None = None,
    truncated_image: str | None = None,
) -> Path:
    """A `pairs` folder (pairs.jsonl + images) in the documented format.

    empty_caption / truncated_image name the id whose caption is blanked or whose
    JPEG is cut short (a real file whose bytes end half-way).
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "img").mkdir(exist_ok=True)
    lines = []
    for index, (item_id, colour, label, text) in enumerate(PAIR_ROWS):
        # Larger than a thumbnail on purpose, alternating landscape and portrait, JPEG and PNG.
        size = (300, 200) if index % 2 == 0 else (180, 260)
        suffix = "jpg" if index % 2 == 0 or item_id == truncated_image else "png"
        path = folder / "img" / f"{item_id}.{suffix}"
        buffer = io.BytesIO()
        make_image(colour, size, index).save(buffer, format="JPEG" if suffix == "jpg" else "PNG", quality=90)
        data = buffer.getvalue()
        if item_id == truncated_image:
            data = data[: len(data) // 2]
        path.write_bytes(data)
        caption = "" if item_id == empty_caption else text
        lines.append(
            json.dumps({"id": item_id, "image": f"img/{path.name}", "text": caption, "label": label})
        )
    (folder / "pairs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_embeddings_folder(
    root: Path, *, n: int = 5, text_rows: int | None = None, nan_at: tuple[int, int] | None = None
) -> Path:
    """An `embeddings` dataset: pairs.jsonl + m1/{image,text}.npy (+ model.json)."""
    root.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps({"id": f"e{i}", "text": f"precomputed caption {i}"}) for i in range(n)]
    (root / "pairs.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    model = root / "m1"
    model.mkdir(exist_ok=True)
    rng = np.random.default_rng(5)
    image = rng.normal(size=(n, 8)).astype(np.float32)
    text = (image + 0.3 * rng.normal(size=(n, 8))).astype(np.float32)[: text_rows or n]
    if nan_at is not None:
        image[nan_at] = np.nan
    np.save(model / "image.npy", image)
    np.save(model / "text.npy", text)
    (model / "model.json").write_text(json.dumps({"name": "m1", "temperature": 0.05}), encoding="utf-8")
    return root


def config_text(
    *,
    tiny_arch: str,
    pairs: Path | None,
    checkpoint: Path | None,
    projections: tuple[str, ...] = ("pca",),
    samples_n: int = 8,
    seed: int = 31415,
) -> str:
    """The small config the export tests share: samples (+ a pairs folder) x tiny open_clip models."""
    methods = ", ".join(f'"{m}"' for m in projections)
    text = f"""
[export]
seed = {seed}
projections = [{methods}]
batch_size = 4
retrieval_k = 5
clusters = 3

[[datasets]]
name = "samples"
kind = "samples"
n = {samples_n}
"""
    if pairs is not None:
        text += f"""
[[datasets]]
name = "colours"
kind = "pairs"
path = "{pairs.as_posix()}"
"""
    text += f"""
[[models]]
spec = "open_clip:{tiny_arch}:random"
label = "Tiny (random)"
"""
    if checkpoint is not None:
        text += f"""
[[models]]
spec = "open_clip:{tiny_arch}:{checkpoint.as_posix()}"
label = "Tiny (checkpoint)"
slug = "tiny-ckpt"
"""
    return text


def export_args(config: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    """Command-line arguments of `export` on the CPU (the default `auto` would take a GPU)."""
    return [
        "export",
        "--config",
        str(config),
        "--out",
        str(out),
        "--cache",
        str(cache),
        "--device",
        "cpu",
        *extra,
    ]


class CliRun(NamedTuple):
    code: int
    out: str
    err: str


def export_cli(capsys, config: Path, out: Path, cache: Path, *extra: str) -> CliRun:
    """`export` through the command line's entry point in this process, with what it printed."""
    capsys.readouterr()  # only this run's output
    code = main(export_args(config, out, cache, *extra))
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


def export_refused(capsys, config: Path, out: Path, cache: Path, *extra: str) -> str:
    """An export that must fail: exit 1, one error line (returned), `out` and its folder left as they were."""
    before = snapshot(out)
    code, _, err = export_cli(capsys, config, out, cache, *extra)
    assert code == 1
    line = assert_one_error_line(err)
    assert snapshot(out) == before and leftovers(out) == []
    return line


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder by relative path (empty when the folder is absent)."""
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def data_files(folder: Path) -> dict[str, bytes]:
    """The files covered by byte-identity: everything except build-info.json."""
    return {k: v for k, v in snapshot(folder).items() if k != "build-info.json"}


def leftovers(out: Path) -> list[str]:
    """Staging or backup folders an export may have left beside its output."""
    return sorted(
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith((f".{out.name}.staging-", f".{out.name}.old-"))
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_error_line(stderr: str) -> str:
    """Exactly one `error: ...` line, the last thing printed, and no traceback."""
    assert "Traceback" not in stderr, stderr
    errors = error_lines(stderr)
    assert len(errors) == 1, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1] == errors[0], stderr
    assert len(errors[0]) > len("error: ") + 10, stderr
    return errors[0]


# Registers the tiny open_clip architecture in a fresh interpreter, then runs
# `python -m exporter` exactly as the command line would.
_WRAPPER = """
import runpy, sys
import torch
torch.set_num_threads(1)
import open_clip
open_clip.add_model_config(sys.argv[1])
sys.argv = ["python -m exporter", *sys.argv[2:]]
runpy.run_module("exporter", run_name="__main__", alter_sys=True)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Another hash seed than the test process (set iteration order changes with it); torch
    # keeps one thread in both, as tests/conftest.py sets, so float sums run in the same order.
    env["PYTHONHASHSEED"] = "4242"
    return env


def exporter_command(args: list[str], model_configs: Path | None = None) -> list[str]:
    """`python -m exporter ARGS` as a command (with the tiny architecture registered if given)."""
    if model_configs is None:
        return [PYTHON, "-m", "exporter", *args]
    return [PYTHON, "-c", _WRAPPER, str(model_configs), *args]


def run_exporter(args: list[str], *, model_configs: Path | None = None, timeout: float = 300):
    """`python -m exporter ARGS` in a subprocess, to its end."""
    return subprocess.run(
        exporter_command(args, model_configs),
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
