"""The one family of user-facing site-build errors.

Every message is a single line that starts with ``file:line:`` when the fault
is in a source file, names the thing at fault and says how to fix it. The CLI
prints it as ``error: <message>`` without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class BuildError(Exception):
    """A problem the author can fix: bad Markdown, a missing figure's data, a bad reference."""

    def __init__(self, message: str, *, where: str | None = None):
        # Keep messages on one line whatever the caller passed in.
        text = " ".join(str(message).split())
        if where:
            text = f"{where}: {text}"
        super().__init__(text)


def location(path: Path | str, line: int | None = None) -> str:
    """``file:line`` with the file shown relative to the working directory when possible."""
    p = Path(path)
    try:
        shown = str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(p)
    return f"{shown}:{line}" if line is not None else shown
