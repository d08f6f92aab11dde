"""Errors about output folders: one line that names the folder and says what to do."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

# errno values that mean "the disk (or the user's quota) is full".
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


class OutputFolderError(Exception):
    """The output folder cannot be used or written; both CLIs print it as one `error:` line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class DiskFullError(OutputFolderError):
    """No space left while writing a file; `path` is the file (or folder) being written."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        super().__init__(
            f"no space left on device while writing {self.path}; free some space and run again "
            "(the previous output was left as it was)"
        )


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in DISK_FULL


def disk_full_path(error: BaseException) -> str | None:
    """The file being written when the disk filled ("" when unknown), or None if this is no disk-full error."""
    if isinstance(error, DiskFullError):
        return str(error.path)
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
        # copytree gathers per-file errors as (source, target, "why") strings.
        for entry in error.args[0]:
            if len(entry) == 3 and any(f"[Errno {code}]" in str(entry[2]) for code in DISK_FULL):
                return str(entry[1])
        return None
    if is_disk_full(error):
        return "" if error.filename is None else os.fsdecode(error.filename)
    return None
