"""One writer per output folder: a second run fails at once and names the holder.

Fail-fast rather than wait: a waiting export would silently redo work on top of
the first one's output, and the user usually started the second run by mistake.
The lock is an flock on a hidden file beside the folder (the folder itself is
swapped by rename, so it cannot carry the lock). The kernel drops the lock when
its process dies, so a `kill -9` never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from outfolder.errors import DiskFullError, OutputFolderError, is_disk_full


def lock_path(out_dir: Path) -> Path:
    return out_dir.with_name(f".{out_dir.name}.lock")


@contextmanager
def output_lock(out_dir: Path, tool: str) -> Iterator[None]:
    """Hold the lock of out_dir for the duration of the block, or raise OutputFolderError."""
    path = lock_path(out_dir)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise OutputFolderError(
                f"output folder {out_dir} is being written by {holder}; wait for that run to finish "
                "or choose another --out (two runs into one folder would lose results)"
            ) from None
        # The holder before us may have removed the file after we opened it: lock the current one.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{tool} (pid {os.getpid()} on {socket.gethostname()}, since {started})".encode(), 0)
        except OSError as error:
            if is_disk_full(error):  # a disk already full fails here, before any output is touched
                raise DiskFullError(path) from error
            raise
        yield
    finally:
        # Remove the file while still holding the lock, so no leftover lock file stays beside the output.
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        os.close(fd)
