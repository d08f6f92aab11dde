"""A word-level tokenizer fitted to the scene captions, callable like open_clip's.

open_clip's text tower pools the token at ``text.argmax(dim=-1)``, i.e. the
highest token id in each row; CLIP's BPE puts end-of-text last for that
reason. We do the same: ``<eot>`` always has the highest id, ``<pad>`` is 0
(open_clip's default ``pad_id``), so argmax finds the end of every caption.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from exporter.contract import write_bytes_atomic
from exporter.errors import ExportError

PAD, SOT, UNK, EOT = "<pad>", "<sot>", "<unk>", "<eot>"
_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
TOKENIZER_FORMAT = "pocket-word-tokenizer/1"


def split_words(text: str) -> list[str]:
    """Lower-case words and single punctuation marks."""
    return _WORD.findall(text.lower())


@dataclass
class WordTokenizer:
    words: list[str]  # the fitted vocabulary without special tokens, sorted
    context_length: int = 16

    def __post_init__(self) -> None:
        if len(set(self.words)) != len(self.words) or any(w in (PAD, SOT, UNK, EOT) for w in self.words):
            raise ExportError("tokenizer vocabulary has duplicate or reserved words; refit it with fit()")
        if self.context_length < 3:
            raise ExportError(f"tokenizer context_length must be >= 3, got {self.context_length}")
        self.vocab: list[str] = [PAD, SOT, UNK, *self.words, EOT]
        self.ids: dict[str, int] = {w: i for i, w in enumerate(self.vocab)}
        self.pad_id, self.sot_id, self.unk_id = 0, 1, 2
        self.eot_id = len(self.vocab) - 1  # highest id: open_clip pools at argmax

    @classmethod
    def fit(cls, texts: list[str], *, context_length: int = 16) -> WordTokenizer:
        """Vocabulary = sorted set of words in ``texts`` (deterministic)."""
        words = sorted({w for t in texts for w in split_words(t)})
        return cls(words=words, context_length=context_length)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def unknown_words(self, text: str) -> list[str]:
        """The words of text outside the vocabulary (each once, in order): they would become <unk>."""
        return list(dict.fromkeys(w for w in split_words(text) if w not in self.ids))

    def encode(self, text: str) -> list[int]:
        """Token ids with <sot> and <eot>, no padding, not truncated."""
        return [self.sot_id, *(self.ids.get(w, self.unk_id) for w in split_words(text)), self.eot_id]

    def decode(self, ids: list[int] | torch.Tensor) -> str:
        """Words between <sot> and <eot>, padding dropped."""
        out: list[str] = []
        for i in [int(x) for x in ids]:
            if i == self.eot_id:
                break
            if i in (self.pad_id, self.sot_id):
                continue
            out.append(self.vocab[i] if 0 <= i < len(self.vocab) else UNK)
        return " ".join(out)

    def __call__(self, texts: str | list[str], context_length: int | None = None) -> torch.LongTensor:
        """[B, context_length] LongTensor, as open_clip tokenizers return."""
        if isinstance(texts, str):
            texts = [texts]
        length = context_length or self.context_length
        out = torch.full((len(texts), length), self.pad_id, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = self.encode(text)
            if len(ids) > length:  # truncate but keep <eot> last so pooling still finds it
                ids = ids[: length - 1] + [self.eot_id]
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def to_json(self) -> dict:
        return {"format": TOKENIZER_FORMAT, "context_length": self.context_length, "vocab": self.vocab}

    def save(self, path: Path) -> None:
        write_bytes_atomic(
            Path(path), (json.dumps(self.to_json(), sort_keys=True, indent=1) + "\n").encode("utf-8")
        )

    @classmethod
    def load(cls, path: Path) -> WordTokenizer:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ExportError(
                f"pocket tokenizer {path}: cannot read ({exc}); delete the pocket cache to retrain"
            ) from exc
        vocab = data.get("vocab") if isinstance(data, dict) else None
        if (
            data.get("format") != TOKENIZER_FORMAT
            or not isinstance(vocab, list)
            or vocab[:3] != [PAD, SOT, UNK]
            or vocab[-1] != EOT
        ):
            raise ExportError(
                f"pocket tokenizer {path}: not a {TOKENIZER_FORMAT} file; delete the pocket cache to retrain"
            )
        return cls(words=list(vocab[3:-1]), context_length=int(data["context_length"]))


def scene_tokenizer(context_length: int = 16) -> WordTokenizer:
    """The tokenizer for the scene captions and zero-shot templates."""
    from exporter.pocket.scenes import caption_vocabulary

    return WordTokenizer(words=caption_vocabulary(), context_length=context_length)
