"""Which paths a tool may write its output folder to: never a folder it did not make."""

from __future__ import annotations

from pathlib import Path

from outfolder.errors import OutputFolderError


def check_output_path(out_dir: Path, *, marker: str, tool: str, protected: tuple[Path, ...] = ()) -> Path:
    """Refuse, in one line, any out_dir whose replacement could destroy a user's files.

    Allowed: a path that does not exist yet, an empty folder, or a folder holding
    `marker` (written by `tool` into every output it makes). Returns the absolute path.
    """
    shown = str(out_dir)
    resolved = Path(out_dir).resolve()
    if resolved.parent == resolved or not resolved.name:
        raise OutputFolderError(f"--out {shown} is the root folder; choose a folder of its own")
    cwd = Path.cwd().resolve()
    if cwd == resolved or cwd.is_relative_to(resolved):
        raise OutputFolderError(
            f"--out {shown} is the working folder or contains it; choose a folder of its own, e.g. out/data"
        )
    for path in protected:
        other = Path(path).resolve()
        if other == resolved or other.is_relative_to(resolved):
            raise OutputFolderError(
                f"--out {shown} would replace {path}; choose a folder of its own for the output"
            )
    for ancestor in resolved.parents:
        if ancestor.exists() and not ancestor.is_dir():
            raise OutputFolderError(f"--out {shown} lies under {ancestor}, which is a file; choose a folder")
    if resolved.exists() or resolved.is_symlink():
        if not resolved.is_dir():
            raise OutputFolderError(
                f"--out {shown} is a file, not a folder; choose a folder (the file is left alone)"
            )
        if any(resolved.iterdir()) and not (resolved / marker).exists():
            raise OutputFolderError(
                f"--out {shown} exists and was not made by {tool} (no {marker} marker inside); "
                "choose an empty or new folder (only the tool's own output is ever replaced)"
            )
    try:
        resolved.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputFolderError(
            f"cannot create the folder for --out {shown} ({error.strerror}); choose a writable place"
        ) from error
    return resolved
