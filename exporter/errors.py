"""The one family of user-facing export errors.

Every message is a single line that names the thing at fault (file, model,
field) and says how to fix it. The CLI prints it without a traceback.
"""


class ExportError(Exception):
    """A problem the user can fix: bad input, missing weights, bad config."""

    def __init__(self, message: str):
        # Keep messages on one line whatever the caller passed in.
        super().__init__(" ".join(str(message).split()))
