"""Options every dataset kind takes: a caption filter and the zero-shot prompt templates.

They are parsed here once: by the config (so a typo fails before any work
starts, naming the file and key) and by the dataset registry, which applies them.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from exporter.errors import ExportError

if TYPE_CHECKING:
    from exporter.datasets.base import PairDataset
    from exporter.models.base import ModelInfo

SHARED_OPTIONS = ("filter", "match", "templates")
MATCH_MODES = ("any", "all")


@dataclass(frozen=True)
class CaptionFilter:
    """Keep the pairs whose caption holds the words (whole words, any case): any one of them, or all."""

    words: tuple[str, ...]
    match: str = "any"

    def keeps(self, caption: str) -> bool:
        found = (re.search(rf"\b{re.escape(word)}\b", caption, re.IGNORECASE) for word in self.words)
        return any(found) if self.match == "any" else all(found)

    def describe(self) -> str:
        """e.g. "captions containing 'dog' or 'cat'"."""
        joiner = " or " if self.match == "any" else " and "
        return "captions containing " + joiner.join(f"'{word}'" for word in self.words)

    def fetch_args(self) -> str:
        """The same filter as options of `python -m exporter fetch coco`."""
        args = "".join(f" --filter {word}" for word in self.words)
        return args + (" --match all" if self.match == "all" and len(self.words) > 1 else "")


def parse_filter(options: dict[str, Any], where: str) -> CaptionFilter | None:
    raw = options.get("filter")
    match = options.get("match", "any")
    if match not in MATCH_MODES:
        raise ExportError(f"{where}: option 'match' must be 'any' or 'all', not {match!r}")
    if raw is None:
        if "match" in options:
            raise ExportError(f"{where}: option 'match' needs 'filter', a list of words to match")
        return None
    words = [raw] if isinstance(raw, str) else raw
    if not isinstance(words, list) or not words:
        raise ExportError(f"{where}: option 'filter' must be a word or a list of words, not {raw!r}")
    for word in words:
        if not isinstance(word, str) or not word.strip() or len(word.split()) != 1:
            raise ExportError(
                f'{where}: option \'filter\' holds {word!r}; give single words, e.g. ["dog", "cat"]'
            )
    return CaptionFilter(tuple(word.strip() for word in words), match)


def parse_templates(options: dict[str, Any], where: str) -> tuple[str, ...] | None:
    """Zero-shot prompt templates: each a text with exactly one `{}` where the class name goes."""
    raw = options.get("templates")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise ExportError(f'{where}: option \'templates\' must be a list of texts such as ["{{}}", "a {{}}"]')
    for template in raw:
        if not isinstance(template, str):
            raise ExportError(f"{where}: option 'templates' holds {template!r}; each must be text")
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        except ValueError as error:  # unbalanced braces
            raise ExportError(f"{where}: template {template!r} has unbalanced braces ({error})") from error
        if fields != [""]:
            raise ExportError(
                f"{where}: template {template!r} must hold exactly one '{{}}' (where the class name goes) "
                "and no other braces"
            )
    if len(set(raw)) != len(raw):
        raise ExportError(f"{where}: option 'templates' lists a template twice; list each once")
    return tuple(raw)


def check_shared_options(options: dict[str, Any], where: str) -> None:
    """Validate the shared options of one dataset (used by the config, before any work)."""
    parse_filter(options, where)
    parse_templates(options, where)


def check_templates_readable(model_info: ModelInfo, datasets: list[PairDataset]) -> None:
    """Refuse a zero-shot template with words a closed-vocabulary model cannot read.

    Such a word becomes <unk>, so comparing that template with another would compare
    a label against a partly unknown prompt. Class names are not checked: they are data.
    """
    unknown_words = model_info.unknown_words
    if unknown_words is None:
        return
    for dataset in datasets:
        if not dataset.classes:
            continue
        for template in dataset.zero_shot_templates:
            unknown = unknown_words(template.replace("{}", " "))
            if unknown:
                listed = ", ".join(f"'{word}'" for word in unknown)
                raise ExportError(
                    f"dataset '{dataset.name}': template {template!r} has words model '{model_info.name}' "
                    f"does not know ({listed}; its vocabulary is closed); set templates on the dataset "
                    'to words it knows, e.g. templates = ["{}", "a {}"]'
                )


def keep_captions(dataset: PairDataset, caption_filter: CaptionFilter) -> None:
    """Drop the pairs whose caption the filter rejects (with their precomputed rows and unused classes)."""
    keep = [i for i, item in enumerate(dataset.items) if caption_filter.keeps(item.text)]
    if not keep:
        raise ExportError(
            f"dataset '{dataset.name}': no caption matches the filter ({caption_filter.describe()}); "
            "change 'filter' or set match = \"any\""
        )
    dataset.items[:] = [dataset.items[i] for i in keep]
    if dataset.precomputed:
        dataset.precomputed = {
            model: {modality: rows[keep] for modality, rows in blocks.items()}
            for model, blocks in dataset.precomputed.items()
        }
    if dataset.classes:
        present = {item.label for item in dataset.items}
        dataset.classes = [name for name in dataset.classes if name in present]
    dataset.description = f"{dataset.description} (only {caption_filter.describe()})"
