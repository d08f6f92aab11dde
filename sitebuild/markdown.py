"""Markdown to HTML: markdown-it-py, its plugins, and the article's own syntax.

Our additions (documented in sitebuild/SYNTAX.md):

- ``::: NAME ...`` / ``:::`` directives (Pandoc-style fenced divs; a bare
  ``:::`` closes the innermost one): ``figure``, ``if-model``, ``if-dataset``,
  ``if-result``, ``unless-model``, ``unless-dataset``, ``appendix``, ``note``, ``aside``;
- ``[@key]`` / ``[@a; @b, p. 3]`` citations, ``@fig-id`` / ``@sec-id`` cross references;
- ``{{ metric MODEL DATASET NAME | pct }}`` data-bound values;
- ``$...$`` / ``$$...$$`` math rendered to MathML at build time.
"""

from __future__ import annotations

import html
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import latex2mathml.converter
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

from sitebuild.bibtex import Bibliography, format_entry_text
from sitebuild.data import DataIndex
from sitebuild.datarefs import evaluate_comparison, parse_data_ref, resolve_data_ref
from sitebuild.errors import BuildError, location
from sitebuild.figures import FIELDS, FIGURE_ID, Figure, parse_header_attrs, resolve_figure
from sitebuild.sources import SourceMap

try:  # Highlighting is a nicety: without Pygments code is shown plain.
    from pygments import highlight as _pyg_highlight
    from pygments.formatters import HtmlFormatter as _PygFormatter
    from pygments.lexers import get_lexer_by_name as _pyg_lexer
    from pygments.util import ClassNotFound as _PygClassNotFound
except ImportError:  # pragma: no cover
    _pyg_highlight = None

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
    """Everything the Markdown rules need; kept in the markdown-it env under "sb"."""

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


def _ctx(env: Any) -> Context:
    return env["sb"]


def slugify(text: str) -> str:
    slug = re.sub(r"[^\w\s-]", "", text.lower()).strip()
    slug = re.sub(r"[\s_-]+", "-", slug)
    return slug or "section"


# -- block directives ---------------------------------------------------------------------------------


def _line(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _find_close(state: StateBlock, start: int, end: int, name: str) -> int:
    ctx = _ctx(state.env)
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
    ctx = _ctx(state.env)
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
    ctx = _ctx(state.env)
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


# -- rendering ------------------------------------------------------------------------------------------


def _math(latex: str, display: bool, where: str) -> str:
    source = latex.strip()
    unescaped = re.sub(r"\\[{}]", "", source)
    if unescaped.count("{") != unescaped.count("}"):
        raise BuildError(f"unbalanced braces in math ${source}$", where=where)
    try:
        mathml = latex2mathml.converter.convert(source, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises many kinds; all mean "bad LaTeX"
        reason = str(exc) or type(exc).__name__
        raise BuildError(f"cannot render math ${source}$: {reason}", where=where) from exc
    # latex2mathml passes unknown commands through as text; a reader would see "\\foo".
    unknown = re.search(r">(\\[A-Za-z]+)<", mathml)
    if unknown:
        raise BuildError(f"cannot render math ${source}$: unknown command {unknown.group(1)}", where=where)
    return mathml


_MATH_DATA_REF = re.compile(r"\{\{(.+?)\}\}")


def _math_with_data(latex: str, ctx: Context, where: str) -> str:
    """Put data references into math as LaTeX: numbers as they are formatted, text as \\text{}.

    Without this, LaTeX would read '{{ model m temperature }}' as nested groups and
    typeset the reference's words as variables.
    """

    def value_of(match: re.Match) -> str:
        ref = parse_data_ref(match.group(1), where)
        value, text = resolve_data_ref(ref, ctx.data, where)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return text.replace("%", r"\%").replace("−", "-")
        return r"\text{" + re.sub(r"([\\{}$%&#_^~])", r"\\\1", text) + "}"

    return _MATH_DATA_REF.sub(value_of, latex)


def _tip(anchor_html: str, tip_html: str, tip_id: str) -> str:
    return (
        f'<span class="tip-anchor">{anchor_html}'
        f'<span class="tip" role="tooltip" id="{tip_id}">{tip_html}</span></span>'
    )


# A wide equation scrolls sideways on a phone: focusable (tabindex) so the keyboard can scroll
# it, and a named group so that focus stop says what it is.
_MATH_BLOCK = 'class="math-display" tabindex="0" role="group" aria-label="Equation"'


class ArticleRenderer(RendererHTML):
    """The HTML renderer with our tokens; figures render their caption through a template."""

    def render(self, tokens: Sequence[Token], options: Any, env: Any) -> str:
        out: list[str] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.type == "figure_open":
                depth, close = 0, index
                for close in range(index, len(tokens)):
                    depth += tokens[close].nesting if tokens[close].type.startswith("figure_") else 0
                    if depth == 0:
                        break
                caption = self.render(tokens[index + 1 : close], options, env)
                out.append(_ctx(env).render_figure(token.meta["figure"], caption))
                index = close + 1
                continue
            if token.type == "inline":
                out.append(self.renderInline(token.children or [], options, env))
            elif token.type in self.rules:
                out.append(self.rules[token.type](tokens, index, options, env))
            else:
                out.append(self.renderToken(tokens, index, options, env))
            index += 1
        return "".join(out)

    # data-bound values
    def data_ref(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        ctx = _ctx(env)
        token = tokens[idx]
        where = ctx.where(token.meta.get("line"))
        ref = parse_data_ref(token.content, where)
        value, text = resolve_data_ref(ref, ctx.data, where)
        return (
            f'<data class="data-ref" value="{html.escape(str(value))}" '
            f'title="{html.escape(ref.source)}">{html.escape(text)}</data>'
        )

    def cite(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        ctx = _ctx(env)
        token = tokens[idx]
        refs, xrefs = [], []
        for key, locator in token.meta["parts"]:
            if key not in ctx.bib.entries and key.startswith(XREF_PREFIXES):
                xrefs.append(self._xref(key, ctx, token))
                continue
            entry = ctx.bib.entries[key]
            number = ctx.cite_numbers[key]
            tip_id = ctx.next_tip_id()
            shown = f"{number}" + (f", {html.escape(locator)}" if locator else "")
            anchor = f'<a class="cite" href="#ref-{html.escape(key)}" aria-describedby="{tip_id}">{shown}</a>'
            refs.append(_tip(anchor, html.escape(format_entry_text(entry)), tip_id))
        out = ", ".join(xrefs)
        if refs:
            out += (" " if out else "") + '<span class="citation">[' + ", ".join(refs) + "]</span>"
        return out

    def _xref(self, target: str, ctx: Context, token: Token) -> str:
        if target in ctx.figures:
            label = f"Figure {ctx.figures[target].number}"
        else:
            heading = next((h for h in ctx.headings if h.id == target), None)
            if heading is None:
                known = ", ".join(list(ctx.figures)[:8]) or "no figures"
                raise BuildError(
                    f"cross-reference @{target} points at nothing; known figures: {known}",
                    where=ctx.where(token.meta.get("line")),
                )
            label = html.escape(heading.text)
        return f'<a class="xref" href="#{html.escape(target)}">{label}</a>'

    def xref(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return self._xref(tokens[idx].meta["target"], _ctx(env), tokens[idx])

    def link_open(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        href = token.attrGet("href") or ""
        following = tokens[idx + 1] if idx + 1 < len(tokens) else None
        if href.startswith("#") and following is not None and following.type == "link_close":
            # [](#fig-x): an empty link to a figure or section gets its label, e.g. "Figure 3".
            return self._xref(href[1:], _ctx(env), token)[: -len("</a>")]
        return self.renderToken(tokens, idx, options, env)

    # math
    def math_inline(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        ctx = _ctx(env)
        where = ctx.where(tokens[idx].meta.get("line"))
        return _math(_math_with_data(tokens[idx].content, ctx, where), False, where)

    def math_block(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        ctx = _ctx(env)
        where = ctx.where(token.map[0] if token.map else None)
        return f'<div {_MATH_BLOCK}>{_math(_math_with_data(token.content, ctx, where), True, where)}</div>\n'

    def math_block_label(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        where = _ctx(env).where(token.map[0] if token.map else None)
        label = html.escape(token.info)
        return (
            f'<div {_MATH_BLOCK} id="{label}">{_math(token.content, True, where)}'
            f'<span class="math-label">({label})</span></div>\n'
        )

    # code
    def fence(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        language = token.info.strip().split()[0] if token.info.strip() else ""
        body = html.escape(token.content)
        if language and _pyg_highlight is not None:
            try:
                body = _pyg_highlight(token.content, _pyg_lexer(language), _PygFormatter(nowrap=True))
            except _PygClassNotFound:
                pass
        cls = f' class="language-{html.escape(language)}"' if language else ""
        return f'<pre class="code" tabindex="0"><code{cls}>{body}</code></pre>\n'

    def code_block(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return f'<pre class="code" tabindex="0"><code>{html.escape(tokens[idx].content)}</code></pre>\n'

    # tables scroll sideways on phones instead of widening the page
    def table_open(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return '<div class="table-wrap" tabindex="0">' + self.renderToken(tokens, idx, options, env)

    def table_close(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return self.renderToken(tokens, idx, options, env) + "</div>\n"

    def image(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        ctx = _ctx(env)
        src = token.attrGet("src") or ""
        if src and not re.match(r"^[a-z][a-z0-9+.-]*:|^//|^#", src, re.IGNORECASE):
            token.attrSet("src", ctx.asset_url(src, ctx.where(token.meta.get("line"))))
        token.attrSet("loading", "lazy")
        alt = self.renderInlineAsText(token.children or [], options, env)
        if not alt.strip():
            raise BuildError(
                f"image {src!r} has no alt text; write ![what it shows]({src})",
                where=ctx.where(token.meta.get("line")),
            )
        return super().image(tokens, idx, options, env)

    # footnotes: hover/focus tips in the text, the list goes to the appendix
    def footnote_ref(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        ctx = _ctx(env)
        meta = tokens[idx].meta
        number = meta["id"] + 1
        sub = meta.get("subId", 0)
        ref_id = f"fnref{number}" + (f":{sub}" if sub else "")
        tip_id = ctx.next_tip_id()
        anchor = (
            f'<sup class="footnote-ref"><a href="#fn{number}" id="{ref_id}" aria-describedby="{tip_id}">'
            f"{number}</a></sup>"
        )
        return _tip(anchor, ctx.footnote_tips.get(meta["id"], ""), tip_id)

    def footnote_block_open(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return '<ol class="footnotes-list">\n'

    def footnote_block_close(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return "</ol>\n"

    def footnote_open(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return f'<li id="fn{tokens[idx].meta["id"] + 1}" class="footnote-item">'

    def footnote_close(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return "</li>\n"

    def footnote_anchor(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        meta = tokens[idx].meta
        number = meta["id"] + 1
        sub = meta.get("subId", 0)
        ref_id = f"fnref{number}" + (f":{sub}" if sub else "")
        return f' <a href="#{ref_id}" class="footnote-backref" aria-label="Back to the text">\u21a9\ufe0e</a>'


def make_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "typographer": True}, renderer_cls=ArticleRenderer)
    md.enable(["table", "strikethrough", "replacements", "smartquotes"])
    md.use(footnote_plugin)
    # allow_digits=False keeps prose like "$5 or $10" from turning into math.
    md.use(dollarmath_plugin, allow_digits=False)
    md.use(deflist_plugin)
    md.use(attrs_plugin)
    md.use(attrs_block_plugin)
    md.block.ruler.before(
        "fence", "sb_directive", directive_rule, {"alt": ["paragraph", "reference", "blockquote", "list"]}
    )
    md.inline.ruler.before("link", "sb_cite", cite_rule)
    md.inline.ruler.before("emphasis", "sb_dataref", dataref_rule)
    md.inline.ruler.before("emphasis", "sb_xref", xref_rule)
    md.core.ruler.push("sb_collect", collect_rule)
    renderer = md.renderer
    for name in (
        "data_ref",
        "cite",
        "xref",
        "link_open",
        "math_inline",
        "math_block",
        "math_block_label",
        "fence",
        "code_block",
        "table_open",
        "table_close",
        "image",
        "footnote_ref",
        "footnote_block_open",
        "footnote_block_close",
        "footnote_open",
        "footnote_close",
        "footnote_anchor",
    ):
        renderer.rules[name] = getattr(renderer, name)
    return md


@dataclass
class RenderedArticle:
    body: str
    appendix: str
    footnotes: str
    abstract: str


def render_markdown(
    md: MarkdownIt, text: str, ctx: Context, abstract: str | None, abstract_map: SourceMap | None = None
) -> RenderedArticle:
    """Parse the joined chapters once and split the output into body, appendix and footnotes."""
    env: dict[str, Any] = {"sb": ctx}
    # The abstract (front matter Markdown) comes first in reading order, so it is parsed first
    # and citation numbers follow the page. It has its own env (footnote state) and its errors
    # point into the front matter.
    abstract_env: dict[str, Any] = {"sb": ctx}
    body_map = ctx.source_map
    abstract_tokens: list[Token] = []
    if abstract:
        ctx.source_map = abstract_map or body_map
        try:
            abstract_tokens = md.parse(abstract, abstract_env)
        finally:
            ctx.source_map = body_map
    tokens = md.parse(text, env)
    body: list[Token] = []
    appendix: list[Token] = []
    notes: list[Token] = []
    target = body
    depth = 0
    for token in tokens:
        if token.type == "footnote_block_open":
            target = notes
        elif token.type == "appendix_open":
            depth += 1
            if depth == 1:
                target = appendix
                continue
        elif token.type == "appendix_close":
            depth -= 1
            if depth == 0:
                target = body
                continue
        target.append(token)
        if token.type == "footnote_block_close":
            target = body
    renderer = md.renderer
    abstract_html = ""
    if abstract_tokens:
        ctx.source_map = abstract_map or body_map
        try:
            abstract_html = renderer.render(abstract_tokens, md.options, abstract_env)
        finally:
            ctx.source_map = body_map
    return RenderedArticle(
        body=renderer.render(body, md.options, env),
        appendix=renderer.render(appendix, md.options, env),
        footnotes=renderer.render(notes, md.options, env),
        abstract=abstract_html,
    )
