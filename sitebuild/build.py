"""The site build: article/ + data/ + site/ -> _site/ (one static page, its assets and data).

The output is built in a temporary folder next to the target and swapped in at
the end, so a failed build never leaves a half-written site behind.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from markupsafe import Markup

from outfolder import OutputFolderError, claimed_output
from outfolder.guard import check_output_path
from sitebuild.bibtex import (
    Bibliography,
    article_bibtex,
    article_citation_text,
    format_entry_html,
    load_bibliography,
)
from sitebuild.data import DataIndex, file_hash
from sitebuild.directives import Context, Heading
from sitebuild.errors import BuildError, location
from sitebuild.figures import Figure, size_label
from sitebuild.linkpreview import OG_HEIGHT, OG_WIDTH, matrix_png, plain_text
from sitebuild.markdown import make_markdown, render_markdown
from sitebuild.preload import first_figure_data, module_closure
from sitebuild.sources import ArticleSource, FrontMatter, Segment, SourceMap, load_article

REPO_ROOT = Path(__file__).resolve().parent.parent
SITE_DIR = REPO_ROOT / "site"
MARKER = ".sitebuild"  # marks a folder as our output, so we only ever replace our own builds
ARTICLE_ASSETS = "assets"
OG_IMAGE = "og-image.png"
MATRIX_KINDS = ("heatmap", "explorer", "compare")  # figures whose first model's matrix makes the preview card


@dataclass
class BuildReport:
    out_dir: Path
    pages: list[str]
    figures: int
    citations: int
    footnotes: int
    data_files: int
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"built {location(self.out_dir)}/{self.pages[0]}: {self.figures} figures, {self.citations} citations, "
            f"{self.data_files} data files in {self.seconds:.2f} s"
        )


@dataclass
class _Assets:
    """Files to place in the output with their content hashes (for ?v= cache-busting)."""

    copies: dict[str, Path] = field(default_factory=dict)  # output path (posix, relative) -> source
    hashes: dict[str, str] = field(default_factory=dict)

    def add(self, rel: str, source: Path) -> str:
        if rel not in self.copies:
            self.copies[rel] = source
            self.hashes[rel] = file_hash(source)
        return f"{rel}?v={self.hashes[rel]}"

    def url(self, rel: str) -> str:
        return f"{rel}?v={self.hashes[rel]}"


def _collect_static(static_dir: Path, assets: _Assets) -> None:
    if not static_dir.is_dir():
        raise BuildError(
            f"static folder {location(static_dir)} is missing; the repo's site/static holds the CSS and JS"
        )
    for path in sorted(static_dir.rglob("*")):
        rel = path.relative_to(static_dir)
        if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
            assets.add(f"static/{rel.as_posix()}", path)


def _import_map(assets: _Assets) -> str:
    """Map every script URL to its hashed URL, so imports between modules are cache-busted too.

    static/vendor/ is included: figures import their libraries (plotly) lazily by URL.
    """
    imports = {
        f"./{rel}": f"./{assets.url(rel)}"
        for rel in sorted(assets.copies)
        if rel.startswith(("static/js/", "static/vendor/")) and rel.endswith(".js")
    }
    return json.dumps({"imports": imports}, indent=1, sort_keys=True)


def _display_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        day = _dt.date.fromisoformat(value)
    except ValueError:
        return value
    return f"{day:%B} {day.day}, {day.year}"


def _affiliations(front: FrontMatter) -> tuple[list[str], list[dict[str, Any]]]:
    """Distinct affiliations in order of first mention, and each author's numbers."""
    affs: list[str] = []
    authors = []
    for author in front.authors:
        numbers = []
        for aff in author.affiliations:
            if aff not in affs:
                affs.append(aff)
            numbers.append(affs.index(aff) + 1)
        authors.append(
            {"name": author.name, "url": author.url, "orcid": author.orcid, "affiliations": numbers}
        )
    return affs, authors


def _bibliography(bib: Bibliography, numbers: dict[str, int]) -> list[dict[str, Any]]:
    ordered = sorted(numbers, key=numbers.__getitem__)
    return [
        {"key": key, "number": numbers[key], "html": Markup(format_entry_html(bib.entries[key]))}
        for key in ordered
    ]


def _toc(headings: list[Heading]) -> list[dict[str, Any]]:
    """Two levels (h2 with their h3) of the body; appendix headings are listed separately."""
    out: list[dict[str, Any]] = []
    for heading in headings:
        if heading.level == 2:
            out.append({"id": heading.id, "text": heading.text, "children": []})
        elif heading.level == 3 and out:
            out[-1]["children"].append({"id": heading.id, "text": heading.text})
    return out


def _og_image(figures: dict[str, Figure], data: DataIndex) -> tuple[bytes, str] | None:
    """(PNG, alt text) of the link-preview card: the first matrix figure's similarity matrix."""
    for figure in figures.values():
        if figure.kind in MATRIX_KINDS and figure.models and figure.dataset:
            model = figure.models[0]
            where = f"figure {figure.id}"
            similarity = data.load_json(data.result_file(model, figure.dataset, "similarity", where), where)
            label = data.models[model].get("label") or model
            alt = (
                f"Similarity matrix of {label} on {similarity['n']} {figure.dataset} pairs "
                f"(Figure {figure.number} of the article)"
            )
            embeddings = None
            if "embeddings" in similarity:  # above the export's embeddings_above: no matrix shipped
                embeddings = data.load_json(data.result_file(model, figure.dataset, "embeddings", where), where)
            return matrix_png(similarity, embeddings), alt
    return None


def _check_out_dir(out_dir: Path, protected: list[Path]) -> None:
    """Fail before any work on an --out the build may not replace (see outfolder.guard)."""
    try:
        check_output_path(out_dir, marker=MARKER, tool="the site build", protected=tuple(protected))
    except OutputFolderError as error:
        raise BuildError(str(error)) from error


_HIDDEN_HTML = re.compile(r"<(pre|code|script|style)\b.*?</\1>", re.S)
_TAG = re.compile(r"<[^>]*>")


def _check_no_unresolved_reference(html: str, source: ArticleSource) -> None:
    """Fail on a `{{ ... }}` that reached the page as text.

    The data-reference rule runs on Markdown text, so a reference inside math,
    or one whose `| format` a table split into two cells, would otherwise be
    printed raw — a silent wrong number in the article.
    """
    visible = unescape(_TAG.sub(" ", _HIDDEN_HTML.sub(" ", html)))
    match = re.search(r"\{\{[^}]{0,60}", visible)
    if match is None:
        return
    snippet = " ".join(match.group(0).split())
    probe = snippet
    where = None
    for index, line in enumerate(source.text.split("\n")):
        if probe in " ".join(line.split()):
            where = source.source_map.locate(index)
            break
    if where is None:  # not in a chapter's body: the front matter's abstract
        where = location(source.first_file, source.front.abstract_line)
    raise BuildError(
        f"data reference '{snippet}' was not resolved; references cannot stand inside math, "
        "and inside a table cell write the format as '\\| fixed:2'",
        where=where,
    )


def build_site(
    article_dir: Path | str,
    data_dir: Path | str | None = None,
    out_dir: Path | str = "_site",
    *,
    site_dir: Path | str | None = None,
) -> BuildReport:
    """Build the article into ``out_dir``; raises BuildError (one line, file:line) on any author error."""
    started = time.perf_counter()
    article_dir = Path(article_dir)
    data_dir = Path(data_dir) if data_dir is not None else article_dir / "data"
    out_dir = Path(out_dir)
    site_dir = Path(site_dir) if site_dir is not None else SITE_DIR
    _check_out_dir(out_dir, [article_dir, data_dir, site_dir])

    source = load_article(article_dir)
    data = DataIndex.load(data_dir)
    bib = load_bibliography(article_dir / "references.bib")
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(site_dir / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    assets = _Assets()
    _collect_static(site_dir / "static", assets)

    data_links: dict[str, str] = {}

    def data_url(rel: str) -> str:
        if rel not in data_links:
            data_links[rel] = f"data/{rel}?v={data.hash_of(rel)}"
        return data_links[rel]

    figure_template = templates.get_template("figure.html")

    def render_figure(figure: Figure, caption: str) -> str:
        config = {
            "kind": figure.kind,
            "id": figure.id,
            "dataset": figure.dataset,
            "models": figure.models,
            "options": figure.options,
            "manifest": data_url("manifest.json"),
            "base": "data/",
            "version": data.version,
        }
        links = [
            {
                "label": link.label,
                "url": data_url(link.rel),
                "name": link.rel.rsplit("/", 1)[-1],
                "size": size_label(link),
            }
            for link in figure.files
        ]
        return figure_template.render(
            figure=figure,
            config=json.dumps(config, sort_keys=True, ensure_ascii=False),
            caption=Markup(caption),
            links=links,
        )

    def asset_url(src: str, where: str) -> str:
        parts = urlsplit(src)
        rel = unquote(parts.path)
        path = (article_dir / rel).resolve()
        if not path.is_relative_to(article_dir.resolve()) or not path.is_file():
            raise BuildError(
                f"image {src!r} not found next to the chapters (looked for {location(path)})", where=where
            )
        out_rel = f"{ARTICLE_ASSETS}/{path.relative_to(article_dir.resolve()).as_posix()}"
        return assets.add(out_rel, path) + (f"#{parts.fragment}" if parts.fragment else "")

    ctx = Context(
        source_map=source.source_map,
        data=data,
        bib=bib,
        article_dir=article_dir,
        render_figure=render_figure,
        asset_url=asset_url,
    )
    abstract_map = SourceMap(
        [Segment(0, 1 << 30, source.first_file, source.front.abstract_line, synthetic=True)]
    )
    rendered = render_markdown(make_markdown(), source.text, ctx, source.front.abstract, abstract_map)

    _check_no_unresolved_reference(rendered.body + rendered.abstract, source)

    front = source.front
    affiliations, authors = _affiliations(front)
    # The first figure starts at once (main.js): fetch its modules and data while the page parses.
    preloads: list[dict[str, str]] = []
    if ctx.figures:
        first = next(iter(ctx.figures.values()))
        js_dir = site_dir / "static" / "js"
        for rel in module_closure(js_dir, f"figures/{first.kind}.js"):
            preloads.append({"rel": "modulepreload", "href": assets.url(f"static/js/{rel}"), "as": ""})
        for rel in first_figure_data(first, data):
            # The URL contract.js fetches: every data file carries the export's version.
            preloads.append({"rel": "preload", "href": f"data/{rel}?v={data.version}", "as": "fetch"})
    og_image = _og_image(ctx.figures, data)
    og_url = None
    if og_image is not None:
        # Absolute when the article states where it lives (previews want it), else relative.
        og_url = (front.url.rstrip("/") + "/" if front.url else "") + OG_IMAGE
    page = templates.get_template("article.html").render(
        front=front,
        lang=front.lang,
        date_display=_display_date(front.date),
        affiliations=affiliations,
        authors=authors,
        abstract=Markup(rendered.abstract),
        description=plain_text(rendered.abstract, bib) if rendered.abstract else None,
        og_image={"url": og_url, "alt": og_image[1], "width": OG_WIDTH, "height": OG_HEIGHT} if og_image else None,
        body=Markup(rendered.body),
        appendix=Markup(rendered.appendix),
        appendix_headings=[h for h in ctx.headings if h.appendix and h.level == 3],
        footnotes=Markup(rendered.footnotes),
        toc=_toc([h for h in ctx.headings if not h.appendix]),
        bibliography=_bibliography(bib, ctx.cite_numbers),
        cite_bibtex=article_bibtex(front),
        cite_text=article_citation_text(front),
        has_figures=bool(ctx.figures),
        preloads=preloads,
        has_data=data.manifest is not None,
        manifest_url=data_url("manifest.json") if data.manifest is not None else None,
        asset=assets.url,
        # article.css first, then the figure modules' sheets (figures.css ...), so those can refine it.
        stylesheets=[
            assets.url(rel)
            for rel in sorted(
                (r for r in assets.copies if r.startswith("static/css/") and r.endswith(".css")),
                key=lambda r: (r != "static/css/article.css", r),
            )
        ],
        import_map=Markup(_import_map(assets).replace("</", "<\\/")),
        generated=_dt.date.today().isoformat(),
    )

    output = claimed_output(
        out_dir,
        marker=MARKER,
        marker_text="Built by `python -m sitebuild`; this folder is replaced on every build.\n",
        tool="the site build",
        protected=(article_dir, data_dir, site_dir),
    )
    data_count = 0
    try:
        with output as tmp_dir:
            for rel, src in assets.copies.items():
                target = tmp_dir / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
            if data.manifest is not None:
                shutil.copytree(
                    data_dir,
                    tmp_dir / "data",
                    ignore=shutil.ignore_patterns(".*", "__pycache__"),
                )
                data_count = sum(1 for p in (tmp_dir / "data").rglob("*") if p.is_file())
            (tmp_dir / "index.html").write_text(page, encoding="utf-8")
            if og_image is not None:
                (tmp_dir / OG_IMAGE).write_bytes(og_image[0])
            # GitHub Pages would otherwise run Jekyll and hide files that start with '_'.
            (tmp_dir / ".nojekyll").write_text("", encoding="utf-8")
    except OutputFolderError as error:
        raise BuildError(str(error)) from error
    return BuildReport(
        out_dir=out_dir,
        pages=["index.html"],
        figures=len(ctx.figures),
        citations=len(ctx.cite_numbers),
        footnotes=rendered.footnotes.count('class="footnote-item"'),
        data_files=data_count,
        warnings=ctx.warnings,
        seconds=time.perf_counter() - started,
    )


__all__ = ["BuildReport", "build_site"]
