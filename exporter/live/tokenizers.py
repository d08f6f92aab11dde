"""The tokenizer a live model needs, written so the page's JavaScript can apply it exactly.

Pocket models: the word tokenizer (exporter/pocket/tokenizer.py). The page
implements the same rules (site/static/js/live/tokenizer.js): lower-case,
split with the same pattern, unknown words to <unk>, <sot> ... <eot>,
truncated keeping <eot>, padded with 0 to the context length.

open_clip models: its SimpleTokenizer (byte-level BPE, the CLIP vocabulary), ported in
site/static/js/live/bpe.js. Two files, shared by every model with the same vocabulary:

    live/tokenizers/bpe-<hash>.bin    the merges, in rank order, as pairs of token ids
                                      (little-endian uint16): merge i joins the strings of
                                      ids a and b into token 512 + i. The vocabulary is
                                      rebuilt from them (256 byte symbols, the same with
                                      "</w>", then one token per merge), about 196 kB
                                      instead of the 1.3 MB gzipped text open_clip ships.
    live/tokenizers/clean-<hash>.json the tables of open_clip's text cleaning, taken from the
                                      Python libraries it calls (ftfy's fixes, html.unescape's
                                      entities, str.isspace), so the page cleans text as they do.

Not ported: ftfy's mojibake repair (fix_encoding, which re-decodes text such as "cafÃ©"
by heuristics). Text that is already mojibake is tokenised as typed; everything else
(HTML entities, curly quotes, ligatures, full-width forms, control characters, NFC) matches.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from exporter.contract import write_bytes_atomic
from exporter.errors import ExportError
from exporter.pocket.tokenizer import _WORD, WordTokenizer

TOKENIZER_FOLDER = "live/tokenizers"


def describe_tokenizer(tokenizer, model_name: str, out: Path | None = None) -> dict:
    """The tokenizer's description for live.json; BPE tables are written under ``out``."""
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
    from open_clip.tokenizer import SimpleTokenizer

    if isinstance(tokenizer, SimpleTokenizer):
        if out is None:
            raise ExportError(f"{model_name}: the BPE tokenizer needs an output folder for its tables")
        return describe_bpe(tokenizer, model_name, Path(out))
    raise ExportError(
        f"{model_name}: its tokenizer ({type(tokenizer).__name__}) has no browser version yet; "
        "set live = false for this model"
    )


def _clean_kind(tokenizer) -> str:
    from open_clip import tokenizer as oc

    for kind, fn in (("lower", oc._clean_lower), ("whitespace", oc._clean_whitespace)):
        if tokenizer.clean_fn is fn:
            return kind
    if tokenizer.clean_fn is oc._clean_canonicalize:
        return "canonicalize"
    return ""


def merge_pairs(tokenizer) -> np.ndarray:
    """(M, 2) ids of the two tokens each merge joins, in rank order; checked against the encoder."""
    encoder = tokenizer.encoder
    ranked = sorted(tokenizer.bpe_ranks.items(), key=lambda kv: kv[1])
    if [r for _, r in ranked] != list(range(len(ranked))):
        raise ExportError("open_clip's BPE ranks are not 0..M-1; the page's tokenizer cannot rebuild them")
    pairs = np.array([(encoder[a], encoder[b]) for (a, b), _ in ranked], dtype=np.int64)
    # The page rebuilds the vocabulary from the merges alone: check that gives this encoder.
    from open_clip.tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols]
    for a, b in pairs:
        vocab.append(vocab[a] + vocab[b])
    specials = sorted((i, t) for t, i in encoder.items() if i >= len(vocab))
    rebuilt = {t: i for i, t in enumerate(vocab)}
    rebuilt.update({t: i for i, t in specials})
    if rebuilt != encoder or any(i != len(vocab) + k for k, (i, _) in enumerate(specials)):
        raise ExportError(
            "open_clip's vocabulary is not bytes + merges + special tokens; the page cannot rebuild it"
        )
    return pairs


def cleaning_tables() -> dict:
    """What open_clip's basic_clean / whitespace_clean use, from the libraries themselves."""
    import html
    import html.entities
    import string

    import ftfy.chardata as chardata

    c1 = {chr(b): bytes([b]).decode("sloppy-windows-1252") for b in range(0x80, 0xA0)}
    return {
        "html5": dict(html.entities.html5),
        "invalid_charrefs": {str(k): v for k, v in html._invalid_charrefs.items()},
        "invalid_codepoints": sorted(html._invalid_codepoints),
        "ftfy_c1": c1,
        "ftfy_ligatures": {chr(k): v for k, v in chardata.LIGATURES.items()},
        "ftfy_width": {chr(k): v for k, v in chardata.WIDTH_MAP.items()},
        "ftfy_control": sorted(chardata.CONTROL_CHARS),
        "ftfy_single_quotes": chardata.SINGLE_QUOTE_RE.pattern,
        "ftfy_double_quotes": chardata.DOUBLE_QUOTE_RE.pattern,
        "isspace": [c for c in range(sys.maxunicode + 1) if chr(c).isspace()],
        "punctuation": string.punctuation,
    }


def _write_shared(out: Path, stem: str, suffix: str, data: bytes) -> tuple[str, int]:
    key = hashlib.sha256(data).hexdigest()[:12]
    rel = f"{TOKENIZER_FOLDER}/{stem}-{key}{suffix}"
    if not (out / rel).exists():
        write_bytes_atomic(out / rel, data)
    return rel, len(data)


def describe_bpe(tokenizer, model_name: str, out: Path) -> dict:
    if getattr(tokenizer, "reduction_fn", None) is not None:
        raise ExportError(
            f"{model_name}: its tokenizer drops tokens at random (reduction_mask), which the page does not do; "
            "set live = false for this model"
        )
    clean = _clean_kind(tokenizer)
    if not clean:
        raise ExportError(
            f"{model_name}: its tokenizer cleans text in a way the page does not know; set live = false"
        )
    pairs = merge_pairs(tokenizer)
    dtype = "<u2" if pairs.max(initial=0) < 2**16 else "<u4"
    merges_file, merges_bytes = _write_shared(out, "bpe", ".bin", pairs.astype(dtype).tobytes())
    tables = json.dumps(cleaning_tables(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    clean_file, clean_bytes = _write_shared(out, "clean", ".json", tables.encode("utf-8"))
    specials = sorted((i, t) for t, i in tokenizer.encoder.items() if i >= 512 + len(pairs))
    return {
        "kind": "open_clip-bpe",
        "context_length": int(tokenizer.context_length),
        "clean": clean,
        "merges": {"file": merges_file, "count": len(pairs), "dtype": dtype[1:], "bytes": merges_bytes},
        "tables": {"file": clean_file, "bytes": clean_bytes},
        "special_tokens": [t for _, t in specials],
        "sot_id": int(tokenizer.sot_token_id),
        "eot_id": int(tokenizer.eot_token_id),
        "pad_id": 0,
    }
