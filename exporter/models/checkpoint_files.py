"""Why a checkpoint file cannot be read, in words a user can act on.

torch's own messages name internal readers ("PytorchStreamReader failed ...
(101)") and suggest loading with weights_only=False, which would run arbitrary
code from the file. We never relay that advice: we look at the file instead.
"""

from __future__ import annotations

import zipfile
from pathlib import Path


def unreadable_reason(path: Path) -> str | None:
    """What is wrong with a checkpoint file (a short clause), or None when its container is intact.

    None means the file is a complete zip archive (torch.save's format), a
    safetensors file or an old-style pickle: a load failure then comes from its
    contents not fitting the architecture.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError as error:
        return f"cannot be opened ({error.strerror})"
    if size == 0:
        return "is empty"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return "is truncated or damaged (its zip archive is incomplete)"
        return None
    if head.startswith(b"\x80"):  # an old-style pickle: torch reports its own damage well enough
        return None
    if len(head) > 8 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < size:
        return None  # safetensors: a little-endian header length, then JSON
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "is not a PyTorch checkpoint (its bytes match no checkpoint format)"
    return "is a text file, not a PyTorch checkpoint"


def unreadable_message(spec: str, path: Path) -> str:
    reason = (
        unreadable_reason(path)
        or "is not a readable PyTorch checkpoint (truncated, damaged or another format)"
    )
    return (
        f"model '{spec}': {path} {reason}; download or save the checkpoint again "
        "(a .pt/.pth/.bin file written by torch.save or a .safetensors file)"
    )
