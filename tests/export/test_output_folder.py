"""The export never destroys a user's files: --out checks, the lock, stale staging, a full disk.

Every refusal is one `error:` line, exit 1, and the thing at --out stays byte for byte.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import exporter.contract as contract
from outfolder.lock import lock_path

from ._support import (
    PYTHON,
    REPO,
    assert_one_error_line,
    export_args,
    export_cli,
    export_refused,
    exporter_command,
    leftovers,
    snapshot,
)


def test_refuses_a_folder_it_did_not_make(small_config, shared_cache, tmp_path, capsys) -> None:
    out = tmp_path / "article"
    out.mkdir()
    (out / "01-intro.md").write_text("# My chapter\n", encoding="utf-8")
    (out / "references.bib").write_text("@book{x}\n", encoding="utf-8")
    line = export_refused(capsys, small_config, out, shared_cache)
    assert str(out) in line and "was not made by the exporter" in line and ".exporter" in line


def test_replaces_its_own_earlier_output(
    small_config, shared_cache, reference_export, tmp_path, capsys
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    (out / "results" / "stray.json").write_text("{}", encoding="utf-8")
    code, _, err = export_cli(capsys, small_config, out, shared_cache)
    assert code == 0, err
    assert not (out / "results" / "stray.json").exists()
    assert (out / contract.EXPORT_MARKER).read_text(encoding="utf-8") == contract.EXPORT_MARKER_TEXT
    assert leftovers(out) == [] and not lock_path(out).exists()


def test_an_empty_folder_is_fine(small_config, shared_cache, tmp_path, capsys) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    code, _, err = export_cli(capsys, small_config, out, shared_cache, "--only", "samples", "--only", "tiny-ckpt")
    assert code == 0, err
    assert (out / "manifest.json").is_file()


def test_refuses_a_file(small_config, shared_cache, tmp_path, capsys) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("precious", encoding="utf-8")
    line = export_refused(capsys, small_config, out, shared_cache)
    assert "notes.txt" in line and "is a file" in line
    assert out.read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        (".", "working folder"),
        ("..", "working folder"),
        ("notes.txt/data", "which is a file"),
        ("/proc/x/data", "cannot create"),
        ("/", "root folder"),
    ],
)
def test_odd_out_values(out, expected, small_config, shared_cache, tmp_path, monkeypatch, capsys) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("precious", encoding="utf-8")
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    code, _, err = export_cli(capsys, small_config, Path(out), shared_cache)
    assert code == 1
    line = assert_one_error_line(err)
    assert expected in line and f"--out {out}" in line, line
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt"]


def test_out_may_not_hold_the_config(small_config, shared_cache, tmp_path, capsys) -> None:
    assert "would replace" in export_refused(capsys, small_config, small_config.parent, shared_cache)
    assert small_config.is_file()


_HOLD_LOCK = """
import sys, time
from pathlib import Path
from outfolder.lock import output_lock
with output_lock(Path(sys.argv[1]).resolve(), "a test export"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_run_fails_at_once_and_names_the_holder(
    small_config, shared_cache, reference_export, tmp_path, capsys
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    before = snapshot(out)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen(
        [PYTHON, "-c", _HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = export_cli(capsys, small_config, out, shared_cache, "--only", "samples")
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    line = assert_one_error_line(err)
    assert "is being written by a test export" in line and f"pid {holder.pid}" in line, line
    assert snapshot(out) == before and leftovers(out) == []
    # The kernel dropped the dead holder's lock: the next run goes ahead.
    code, _, err = export_cli(capsys, small_config, out, shared_cache, "--only", "samples")
    assert code == 0, err


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_staging_of_dead_runs_is_removed(
    small_config, shared_cache, reference_export, tmp_path, capsys
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    dead = _dead_pid()
    stale = [tmp_path / f".data.staging-{dead}-k9x2", tmp_path / f".data.old-{dead}"]
    alive = tmp_path / f".data.staging-{os.getppid()}-live"  # a running process: left alone
    for folder in [*stale, alive]:
        (folder / "results").mkdir(parents=True)
        (folder / "results" / "big.bin").write_bytes(b"x" * 1000)
    code, _, err = export_cli(capsys, small_config, out, shared_cache, "--only", "samples")
    assert code == 0, err
    assert not any(folder.exists() for folder in stale)
    assert alive.exists()


# ---------------------------------------------------------------- a full disk


def _fail_writes_after(monkeypatch, allowed: int) -> list[str]:
    """Make the write layer hit ENOSPC after `allowed` successful file writes."""
    real_fdopen = os.fdopen
    written: list[str] = []

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            if len(written) >= allowed:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written.append(self.handle.name)
            return self.handle.write(data)

    monkeypatch.setattr(contract.os, "fdopen", lambda fd, mode="r": FullDisk(real_fdopen(fd, mode)))
    return written


@pytest.mark.parametrize(("allowed", "where"), [(0, "/thumbs/"), (20, "/results/")])
def test_disk_full_is_one_line_naming_the_file(
    allowed, where, small_config, shared_cache, reference_export, tmp_path, monkeypatch, capsys
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    before = snapshot(out)
    _fail_writes_after(monkeypatch, allowed)
    code, _, err = export_cli(capsys, small_config, out, shared_cache)
    assert code == 1
    line = assert_one_error_line(err)
    assert line.startswith(f"error: no space left on device while writing {out}/"), line
    assert where in line and "cannot read" not in line and "staging" not in line, line
    assert snapshot(out) == before and leftovers(out) == []


def _can_mount_tmpfs(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {probe}"],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def test_a_real_full_disk(small_config, shared_cache, reference_export, model_configs, tmp_path) -> None:
    """A tmpfs a little larger than the previous export: the new one cannot fit beside it."""
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("cannot mount a tmpfs in a user namespace here (unshare -rm)")
    disk, after = tmp_path / "disk", tmp_path / "after"
    disk.mkdir()
    # tmpfs stores every file in whole 4 KiB pages.
    size_kib = sum(-(-p.stat().st_size // 4096) * 4 for p in reference_export.rglob("*") if p.is_file())
    # Previous files round up to whole pages; 64 KiB more lets the new export start, not finish.
    script = textwrap.dedent(f"""
        mount -t tmpfs -o size={size_kib + 160}k tmpfs {disk} || exit 99
        cp -a {reference_export} {disk}/data
        "$@"
        echo $? > {tmp_path}/rc
        cp -a {disk} {after}
    """)
    args = export_args(small_config, disk / "data", shared_cache)
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *exporter_command(args, model_configs)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "rc").read_text().strip() == "1", result.stderr
    line = assert_one_error_line(result.stderr)
    assert line.startswith(f"error: no space left on device while writing {disk}/data/"), line
    assert snapshot(after / "data") == snapshot(reference_export)
    assert sorted(p.name for p in after.iterdir()) == ["data"]  # no staging left behind


def test_sigterm_leaves_the_previous_output_and_no_leftovers(
    small_config, shared_cache, reference_export, model_configs, tmp_path
) -> None:
    import signal
    import time

    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    before = snapshot(out)
    args = export_args(small_config, out, tmp_path / "fresh-cache")  # a cold cache: the run takes a while
    process = subprocess.Popen(
        exporter_command(args, model_configs),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not leftovers(out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(out), "the export never started staging"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert snapshot(out) == before
    assert leftovers(out) == [] and not lock_path(out).exists()
