"""open_clip's Hugging Face tokenizers (SigLIP, multilingual CLIP ...): their packages and files.

Architectures whose text config names `hf_tokenizer_name` tokenize with
transformers' AutoTokenizer, which reads tokenizer files from a local folder
or the Hugging Face cache. Checked before open_clip tries, so a missing
package or file is named exactly, instead of a traceback or a hub timeout.
"""

from __future__ import annotations

from pathlib import Path

from exporter.errors import ExportError

CONFIG_FILE = "tokenizer_config.json"
# Any one of these holds the vocabulary (fast tokenizers, SentencePiece, WordPiece, BPE).
VOCABULARY_FILES = ("tokenizer.json", "spiece.model", "sentencepiece.bpe.model", "vocab.txt", "vocab.json")


def hf_tokenizer_name(arch: str) -> str | None:
    import open_clip

    config = open_clip.get_model_config(arch) or {}
    return (config.get("text_cfg") or {}).get("hf_tokenizer_name") or None


def _present(source: str, filename: str) -> bool:
    folder = Path(source).expanduser()
    if folder.is_dir():
        return (folder / filename).is_file()
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(source, filename)
    return isinstance(found, str) and Path(found).is_file()


def missing_files(source: str) -> list[str]:
    """The tokenizer files AutoTokenizer would need from `source` (folder or hub id) that are absent."""
    missing = [] if _present(source, CONFIG_FILE) else [CONFIG_FILE]
    if not any(_present(source, name) for name in VOCABULARY_FILES):
        missing.append(f"{VOCABULARY_FILES[0]} (or {VOCABULARY_FILES[1]})")
    return missing


def check_tokenizer(arch: str, spec: str, *, hub_reachable: bool) -> None:
    """Raise one line naming the missing package or files of arch's Hugging Face tokenizer, if any."""
    name = hf_tokenizer_name(arch)
    if name is None:
        return
    try:
        import transformers  # noqa: F401  (AutoTokenizer)
    except ImportError as error:
        raise ExportError(
            f"model '{spec}': its tokenizer '{name}' needs the 'transformers' and 'sentencepiece' packages "
            "(open_clip's Hugging Face tokenizers); install the export extra: pip install -e '.[export]'"
        ) from error
    missing = missing_files(name)
    if not missing:
        return
    if Path(name).expanduser().is_dir():
        raise ExportError(
            f"model '{spec}': tokenizer folder {name} lacks {' and '.join(missing)}; "
            "copy them from the model's Hugging Face repository"
        )
    if hub_reachable:
        return  # open_clip downloads them into the cache
    from huggingface_hub import constants

    raise ExportError(
        f"model '{spec}': tokenizer '{name}' is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
        f"and the hub is unreachable: missing {' and '.join(missing)}; fetch them once with a network "
        f"(AutoTokenizer.from_pretrained('{name}')) or point HF_HOME at a cache that holds them"
    )
