"""The one family of user-facing export errors, and the "did you mean" hint they share.

Every message is a single line that names the thing at fault (file, model,
field) and says how to fix it. The CLI prints it without a traceback.
"""

import difflib
from collections.abc import Callable, Iterable


def did_you_mean(
    word: str, choices: Iterable[str], *, cutoff: float = 0.5, shown: Callable[[str], str] = str
) -> str:
    """ "did you mean 'X'?" for the closest choice, else the list of known choices."""
    names = sorted(choices)
    match = difflib.get_close_matches(word, names, n=1, cutoff=cutoff)
    if match:
        return f"did you mean '{shown(match[0])}'?"
    return f"known: {', '.join(shown(name) for name in names) or 'none'}"


class ExportError(Exception):
    """A problem the user can fix: bad input, missing weights, bad config."""

    def __init__(self, message: str):
        # Keep messages on one line whatever the caller passed in.
        super().__init__(" ".join(str(message).split()))
