"""The tokenizer a live model needs, written so the page's JavaScript can apply it exactly.

Pocket models: the word tokenizer (exporter/pocket/tokenizer.py). The page
implements the same rules (site/static/js/live/tokenizer.js): lower-case,
split with the same pattern, unknown words to <unk>, <sot> ... <eot>,
truncated keeping <eot>, padded with 0 to the context length.
"""

from __future__ import annotations

from exporter.errors import ExportError
from exporter.pocket.tokenizer import _WORD, WordTokenizer


def describe_tokenizer(tokenizer, model_name: str) -> dict:
    if isinstance(tokenizer, WordTokenizer):
        return {
            "kind": "pocket-words",
            "pattern": _WORD.pattern,
            "context_length": tokenizer.context_length,
            "vocab": list(tokenizer.vocab),
            "pad_id": tokenizer.pad_id,
            "sot_id": tokenizer.sot_id,
            "unk_id": tokenizer.unk_id,
            "eot_id": tokenizer.eot_id,
        }
    raise ExportError(
        f"{model_name}: its tokenizer ({type(tokenizer).__name__}) has no browser version yet; "
        "set live = false for this model"
    )
