"""The article's own Markdown syntax, as markdown-it rules, and the state those rules fill in.

- ``::: NAME ...`` / ``:::`` directives (Pandoc-style fenced divs; a bare
  ``:::`` closes the innermost one): ``figure``, ``if-model``, ``if-dataset``,
  ``if-result``, ``unless-model``, ``unless-dataset``, ``if``, ``unless``,
  ``appendix``, ``note``, ``aside``;
- ``[@key]`` / ``[@a; @b, p. 3]`` citations, ``@fig-id`` / ``@sec-id`` cross references;
- ``{{ metric MODEL DATASET NAME | pct }}`` data-bound values (the language is sitebuild/datarefs.py);
- the pass after parsing that numbers citations, names headings and gathers footnote tips.

Turning the tokens into HTML is sitebuild/markdown.py's job; the syntax is
documented in sitebuild/SYNTAX.md.
"""

from __future__ import annotations

import html
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from sitebuild.bibtex import Bibliography
from sitebuild.data import DataIndex
from sitebuild.datarefs import evaluate_comparison
from sitebuild.errors import BuildError, location
from sitebuild.figures import FIELDS, FIGURE_ID, Figure, parse_header_attrs, resolve_figure
from sitebuild.sources import SourceMap

ENV_KEY = "sb"  # where the Context rides in markdown-it's env

DIRECTIVES = (
    "figure",
    "if-model",
    "if-dataset",
    "if-result",
    "unless-model",
    "unless-dataset",
    "if",
    "unless",
    "appendix",
    "note",
    "aside",
)
OPEN_RE = re.compile(r"^(:{3,})\s*([A-Za-z][\w-]*)\s*(.*?)\s*$")
CLOSE_RE = re.compile(r"^(:{3,})\s*$")
FENCE_RE = re.compile(r"^(`{3,}|~{3,})")
FIELD_RE = re.compile(r"^([a-z][a-z_-]*):(?:\s+(.*)|\s*)$")
XREF_PREFIXES = ("fig-", "sec-")
CITE_PART = re.compile(r"^\s*@([A-Za-z0-9_][\w:.\-/+]*)\s*(?:,\s*(.+?))?\s*$")


@dataclass
class Heading:
    level: int  # HTML level (2..6)
    id: str
    text: str  # plain text
    html: str
    appendix: bool


@dataclass
class Context:
    """One article's state: what the syntax rules fill in and the renderer reads; kept in the env under ENV_KEY."""

    source_map: SourceMap
    data: DataIndex
    bib: Bibliography
    article_dir: Path
    render_figure: Callable[[Figure, str], str]
    asset_url: Callable[[str, str], str]  # (relative path in article dir, where) -> URL
    figures: dict[str, Figure] = field(default_factory=dict)
    headings: list[Heading] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    cite_numbers: dict[str, int] = field(default_factory=dict)
    footnote_tips: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    tip_counter: int = 0

    def where(self, line: int | None) -> str:
        return self.source_map.locate(line)

    def next_tip_id(self) -> str:
        self.tip_counter += 1
        return f"tip-{self.tip_counter}"


def context_of(env: Any) -> Context:
    return env[ENV_KEY]


def slugify(text: str) -> str:
    slug = re.sub(r"[^\w\s-]", "", text.lower()).strip()
    slug = re.sub(r"[\s_-]+", "-", slug)
    return slug or "section"


# -- block directives ---------------------------------------------------------------------------------


def _line(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _find_close(state: StateBlock, start: int, end: int, name: str) -> int:
    ctx = context_of(state.env)
    depth = 1
    fence: str | None = None
    start_file = ctx.source_map.file_of(start)
    for line in range(start + 1, end):
        text = _line(state, line)
        if ctx.source_map.file_of(line) != start_file:
            break
        if fence is not None:
            if text.startswith(fence) and not text[len(fence) :].strip():
                fence = None
            continue
        fence_match = FENCE_RE.match(text)
        if fence_match:
            fence = fence_match.group(1)
        elif OPEN_RE.match(text):
            depth += 1
        elif CLOSE_RE.match(text):
            depth -= 1
            if depth == 0:
                return line
    raise BuildError(f"'::: {name}' is never closed; end it with a line ':::'", where=ctx.where(start))


def _tokenize_inside(state: StateBlock, start: int, end: int, indent: int) -> None:
    """Parse lines [start, end) as Markdown blocks inside the current directive."""
    if start >= end:
        return
    old_max, old_parent, old_indent = state.lineMax, state.parentType, state.blkIndent
    state.lineMax = end
    state.parentType = "directive"  # type: ignore[assignment]
    state.blkIndent = indent
    state.md.block.tokenize(state, start, end)
    state.lineMax, state.parentType, state.blkIndent = old_max, old_parent, old_indent


def _condition(name: str, args: list[str], data: DataIndex, where: str) -> bool:
    if name in ("if-model", "unless-model", "if-dataset", "unless-dataset") and not args:
        raise BuildError(f"'::: {name}' needs at least one name, e.g. '::: {name} NAME'", where=where)
    if name in ("if-model", "unless-model"):
        found = all(data.has_model(a) for a in args)
        return found if name == "if-model" else not found
    if name in ("if-dataset", "unless-dataset"):
        found = all(data.has_dataset(a) for a in args)
        return found if name == "if-dataset" else not found
    if len(args) != 2:
        raise BuildError(
            "'::: if-result' needs a model and a dataset: '::: if-result MODEL DATASET'", where=where
        )
    return data.has_result(args[0], args[1])


def _figure(state: StateBlock, start: int, close: int, rest: str, ctx: Context) -> None:
    where = ctx.where(start)
    kind, _, attrs = rest.partition(" ")
    if not kind:
        raise BuildError("figure directive needs a kind: '::: figure heatmap {#fig-id}'", where=where)
    fig_id, classes = parse_header_attrs(attrs, where)
    fields: dict[str, str] = {}
    field_where: dict[str, str] = {}
    last_key: str | None = None
    caption_start = close
    line = start + 1
    while line < close:
        text = _line(state, line)
        raw = state.src[state.bMarks[line] : state.eMarks[line]]
        if not text.strip():
            caption_start = line + 1
            break
        match = FIELD_RE.match(text)
        if match and state.sCount[line] <= state.sCount[start]:
            key = match.group(1)
            if key not in FIELDS:
                raise BuildError(
                    f"unknown figure field {key!r}; use {', '.join(FIELDS)} (the caption starts after a blank line)",
                    where=ctx.where(line),
                )
            if key in fields:
                raise BuildError(f"figure field {key!r} is given twice", where=ctx.where(line))
            fields[key] = (match.group(2) or "").strip()
            field_where[key] = ctx.where(line)
            last_key = key
        elif last_key is not None and raw[:1] in (" ", "\t"):
            fields[last_key] += " " + text.strip()  # an indented line continues the previous field
        else:
            caption_start = line
            break
        line += 1
    number = len(ctx.figures) + 1
    fig_id = fig_id or f"fig-{kind}-{number}"
    if not FIGURE_ID.match(fig_id):
        raise BuildError(
            f"figure id {fig_id!r} must start with a letter and use letters, digits, '-' or '_'", where=where
        )
    if fig_id in ctx.ids:
        raise BuildError(f"id {fig_id!r} is used twice; give each figure its own '{{#fig-...}}'", where=where)
    figure = resolve_figure(kind, fig_id, number, fields, classes, ctx.data, where, field_where)
    figure.line = start
    ctx.figures[fig_id] = figure
    ctx.ids.add(fig_id)
    token = state.push("figure_open", "figure", 1)
    token.map = [start, close + 1]
    token.meta = {"figure": figure}
    _tokenize_inside(state, caption_start, close, state.sCount[start])
    token = state.push("figure_close", "figure", -1)


def directive_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    match = OPEN_RE.match(_line(state, start))
    if not match:
        return False
    if silent:
        return True
    ctx = context_of(state.env)
    name, rest = match.group(2), match.group(3)
    where = ctx.where(start)
    if name not in DIRECTIVES:
        raise BuildError(f"unknown directive '::: {name}'; use one of: {', '.join(DIRECTIVES)}", where=where)
    close = _find_close(state, start, end, name)
    indent = state.sCount[start]
    if name == "figure":
        _figure(state, start, close, rest, ctx)
    elif name in ("if", "unless"):
        # '::: if LEFT OP RIGHT': both sides are data references (as in '{{ }}') or numbers.
        holds = evaluate_comparison(rest, ctx.data, where, name)
        if holds == (name == "if"):
            _tokenize_inside(state, start + 1, close, indent)
        # else: dropped like a false 'if-model' section, before anything in it is checked or numbered.
    elif name.startswith(("if-", "unless-")):
        try:
            args = shlex.split(rest)
        except ValueError as exc:
            raise BuildError(f"cannot read '::: {name} {rest}': {exc}", where=where) from exc
        if _condition(name, args, ctx.data, where):
            _tokenize_inside(state, start + 1, close, indent)
        # else: the section is dropped before anything in it is checked or numbered.
    else:
        if rest:
            raise BuildError(f"'::: {name}' takes no arguments (found {rest!r})", where=where)
        tag = {"appendix": "div", "note": "div", "aside": "aside"}[name]
        token = state.push(f"{name}_open", tag, 1)
        token.map = [start, close + 1]
        token.attrSet("class", {"appendix": "appendix-block", "note": "note", "aside": "aside"}[name])
        _tokenize_inside(state, start + 1, close, indent)
        state.push(f"{name}_close", tag, -1)
    state.line = close + 1
    return True


# -- inline rules --------------------------------------------------------------------------------------


def dataref_rule(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    if not state.src.startswith("{{", pos):
        return False
    end = state.src.find("}}", pos + 2)
    if end < 0:
        return False
    if not silent:
        token = state.push("data_ref", "", 0)
        token.content = state.src[pos + 2 : end]
    state.pos = end + 2
    return True


def cite_rule(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    if not state.src.startswith("[@", pos) and not re.match(r"\[\s+@", state.src[pos : pos + 10]):
        return False
    end = state.src.find("]", pos)
    if end < 0 or "[" in state.src[pos + 1 : end]:
        return False
    if state.src[end + 1 : end + 2] in ("(", "["):
        return False  # a link whose text starts with '@'
    parts = []
    for part in state.src[pos + 1 : end].split(";"):
        match = CITE_PART.match(part)
        if not match:
            return False
        parts.append((match.group(1), match.group(2)))
    if not silent:
        token = state.push("cite", "", 0)
        token.meta = {"parts": parts}
    state.pos = end + 1
    return True


def xref_rule(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    if state.src[pos] != "@" or (pos > 0 and (state.src[pos - 1].isalnum() or state.src[pos - 1] in "_.")):
        return False
    match = re.compile(r"@((?:fig|sec)-[\w-]*[\w])").match(state.src, pos)
    if not match:
        return False
    if not silent:
        token = state.push("xref", "", 0)
        token.meta = {"target": match.group(1)}
    state.pos = match.end()
    return True


# -- core pass: lines, citation numbers, headings, footnote tips ---------------------------------------


def _walk(tokens: Sequence[Token]):
    for token in tokens:
        yield token
        if token.children:
            yield from token.children


def collect_rule(state: Any) -> None:
    ctx = context_of(state.env)
    tokens: list[Token] = state.tokens
    # Give inline tokens the line of their block so errors can name it.
    for token in tokens:
        if token.children and token.map:
            for child in token.children:
                child.meta.setdefault("line", token.map[0])
    # Citation numbers in reading order; unknown keys fail here with a location.
    for token in _walk(tokens):
        if token.type != "cite":
            continue
        for key, _ in token.meta["parts"]:
            if key.startswith(XREF_PREFIXES) and key not in ctx.bib.entries:
                continue
            if key not in ctx.bib.entries:
                bib = location(ctx.bib.path) if ctx.bib.path else "article/references.bib (missing)"
                raise BuildError(
                    f"unknown citation key {key!r}; add it to {bib} or fix the spelling",
                    where=ctx.where(token.meta.get("line")),
                )
            ctx.cite_numbers.setdefault(key, len(ctx.cite_numbers) + 1)
    _collect_headings(state, tokens, ctx)
    _collect_footnote_tips(state, tokens, ctx)


def _collect_headings(state: Any, tokens: list[Token], ctx: Context) -> None:
    appendix_depth = 0
    previous = 1
    for index, token in enumerate(tokens):
        if token.type == "appendix_open":
            appendix_depth += 1
        elif token.type == "appendix_close":
            appendix_depth -= 1
        if token.type != "heading_open":
            continue
        inline = tokens[index + 1]
        explicit = token.attrGet("id")
        if inline.children:
            last = inline.children[-1]
            match = re.search(r"\s*\{#([A-Za-z][\w-]*)\}\s*$", last.content) if last.type == "text" else None
            if match:
                explicit = match.group(1)
                last.content = last.content[: match.start()]
                inline.content = re.sub(r"\s*\{#[A-Za-z][\w-]*\}\s*$", "", inline.content)
        # Markdown '#' is <h2> (the title is the page's only <h1>); in the appendix it is <h3>,
        # under the page's "Appendix" <h2>.
        level = min(6, int(token.tag[1]) + (2 if appendix_depth else 1))
        token.tag = f"h{level}"
        tokens[index + 2].tag = f"h{level}"
        inner = state.md.renderer.renderInline(inline.children or [], state.md.options, state.env)
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inner)).split())
        where = ctx.where(token.map[0] if token.map else None)
        if explicit:
            if explicit in ctx.ids:
                raise BuildError(f"id {explicit!r} is used twice", where=where)
            heading_id = explicit
        else:
            base = slugify(text)
            heading_id, n = base, 2
            while heading_id in ctx.ids:
                heading_id, n = f"{base}-{n}", n + 1
        ctx.ids.add(heading_id)
        token.attrSet("id", heading_id)
        if level > previous + 1 and not appendix_depth:
            ctx.warnings.append(
                f"{where}: heading level jumps from h{previous} to h{level}; do not skip levels"
            )
        previous = level
        ctx.headings.append(Heading(level, heading_id, text, inner, bool(appendix_depth)))


def _collect_footnote_tips(state: Any, tokens: list[Token], ctx: Context) -> None:
    current: int | None = None
    parts: list[str] = []
    for token in tokens:
        if token.type == "footnote_open":
            current, parts = token.meta["id"], []
        elif token.type == "footnote_close" and current is not None:
            ctx.footnote_tips[current] = " ".join(p for p in parts if p)
            current = None
        elif current is not None and token.type == "inline":
            parts.append(state.md.renderer.renderInline(token.children or [], state.md.options, state.env))
