"""Stage a new output beside the old one and swap it in, so readers never see half a folder."""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from outfolder.errors import DiskFullError, OutputFolderError, disk_full_path
from outfolder.guard import check_output_path
from outfolder.lock import output_lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove `.NAME.staging-PID-*` and `.NAME.old-PID` folders of runs whose process is gone.

    Call it while holding the output lock. Returns what was removed.
    """
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.(?:staging|old)-(\d+)(?:-.*)?")
    removed = []
    if not out_dir.parent.is_dir():
        return removed
    for path in out_dir.parent.iterdir():
        match = pattern.fullmatch(path.name)
        if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _shown(path: str | os.PathLike | None, staging: Path, out_dir: Path) -> Path:
    """A path inside the staging folder as the user will know it: inside out_dir."""
    if path is None:
        return out_dir
    text = os.fsdecode(path)
    return Path(text.replace(str(staging), str(out_dir), 1)) if text.startswith(str(staging)) else Path(text)


@contextmanager
def staged_folder(out_dir: Path) -> Iterator[Path]:
    """Yield an empty folder beside out_dir; on success it replaces out_dir, on failure it vanishes.

    The swap is two renames; the previous folder is restored if the second fails.
    A full disk anywhere inside the block becomes one DiskFullError naming the file.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{out_dir.name}.staging-{os.getpid()}-"
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
        try:
            yield staging
        except Exception as error:
            path = disk_full_path(error)
            if path is None:
                raise
            raise DiskFullError(_shown(path or None, staging, out_dir)) from error
        staging.chmod(0o755)  # mkdtemp makes an owner-only folder; outputs are public
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out_dir, old)
        try:
            os.replace(staging, out_dir)
        except BaseException:
            if old is not None:
                os.replace(old, out_dir)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        # A signal (SIGTERM) can land inside mkdtemp or before `staging` is bound: remove every
        # staging folder of this process for out_dir, not only the one we know of.
        leftovers = {staging} if staging is not None else set()
        leftovers.update(out_dir.parent.glob(glob.escape(prefix) + "*"))
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
        raise


@contextmanager
def claimed_output(
    out_dir: Path, *, marker: str, marker_text: str, tool: str, protected: tuple[Path, ...] = ()
) -> Iterator[Path]:
    """Check out_dir, lock it, clear dead runs' staging, and yield a staging folder to fill.

    On success the staging folder (with `marker` written into it) replaces out_dir.
    Raises OutputFolderError (one line) for a folder the tool may not replace or
    one another run is writing.
    """
    shown = Path(out_dir)
    resolved = check_output_path(shown, marker=marker, tool=tool, protected=protected)
    with output_lock(resolved, tool):
        remove_stale_staging(resolved)
        try:
            with staged_folder(resolved) as staging:
                yield staging
                (staging / marker).write_text(marker_text, encoding="utf-8")
        except DiskFullError as error:
            # Name the path as the user gave it, not its absolute form.
            text = str(error.path)
            if text.startswith(str(resolved)):
                text = str(shown) + text[len(str(resolved)) :]
            raise DiskFullError(text) from error.__cause__


__all__ = ["OutputFolderError", "claimed_output", "remove_stale_staging", "staged_folder"]
