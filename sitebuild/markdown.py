"""Markdown to HTML: markdown-it-py with its plugins and the article's renderer.

The article's own syntax (directives, citations, cross references, data
references) is parsed by the rules in sitebuild/directives.py; this module
registers them, renders every token (math to MathML at build time, figures
through the page's template, footnotes and citations as tips) and splits the
page into body, appendix and footnotes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import latex2mathml.converter
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

from sitebuild.bibtex import format_entry_text
from sitebuild.datarefs import parse_data_ref, resolve_data_ref
from sitebuild.directives import (
    ENV_KEY,
    XREF_PREFIXES,
    Context,
    cite_rule,
    collect_rule,
    context_of,
    dataref_rule,
    directive_rule,
    xref_rule,
)
from sitebuild.errors import BuildError
from sitebuild.sources import SourceMap

try:  # Highlighting is a nicety: without Pygments code is shown plain.
    from pygments import highlight as _pyg_highlight
    from pygments.formatters import HtmlFormatter as _PygFormatter
    from pygments.lexers import get_lexer_by_name as _pyg_lexer
    from pygments.util import ClassNotFound as _PygClassNotFound
except ImportError:  # pragma: no cover
    _pyg_highlight = None


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
                out.append(context_of(env).render_figure(token.meta["figure"], caption))
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
        ctx = context_of(env)
        token = tokens[idx]
        where = ctx.where(token.meta.get("line"))
        ref = parse_data_ref(token.content, where)
        value, text = resolve_data_ref(ref, ctx.data, where)
        return (
            f'<data class="data-ref" value="{html.escape(str(value))}" '
            f'title="{html.escape(ref.source)}">{html.escape(text)}</data>'
        )

    def cite(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        ctx = context_of(env)
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
        return self._xref(tokens[idx].meta["target"], context_of(env), tokens[idx])

    def link_open(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        href = token.attrGet("href") or ""
        following = tokens[idx + 1] if idx + 1 < len(tokens) else None
        if href.startswith("#") and following is not None and following.type == "link_close":
            # [](#fig-x): an empty link to a figure or section gets its label, e.g. "Figure 3".
            return self._xref(href[1:], context_of(env), token)[: -len("</a>")]
        return self.renderToken(tokens, idx, options, env)

    # math
    def math_inline(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        ctx = context_of(env)
        where = ctx.where(tokens[idx].meta.get("line"))
        return _math(_math_with_data(tokens[idx].content, ctx, where), False, where)

    def math_block(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        ctx = context_of(env)
        where = ctx.where(token.map[0] if token.map else None)
        return f'<div {_MATH_BLOCK}>{_math(_math_with_data(token.content, ctx, where), True, where)}</div>\n'

    def math_block_label(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        where = context_of(env).where(token.map[0] if token.map else None)
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
        ctx = context_of(env)
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
        ctx = context_of(env)
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
    env: dict[str, Any] = {ENV_KEY: ctx}
    # The abstract (front matter Markdown) comes first in reading order, so it is parsed first
    # and citation numbers follow the page. It has its own env (footnote state) and its errors
    # point into the front matter.
    abstract_env: dict[str, Any] = {ENV_KEY: ctx}
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
