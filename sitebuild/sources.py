"""Article sources: chapter files, their front matter, and a map from the joined text back to file:line.

All chapters are joined into one Markdown text so footnotes, figure numbers and
citations are numbered across the whole article; the source map turns a line of
the joined text back into ``chapter.md:line`` for error messages.
"""

from __future__ import annotations

import datetime as _dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitebuild.errors import BuildError, location

APPENDIX_NAME = re.compile(r"appendix", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    """Lines [start, end) of the joined text come from ``path`` starting at ``first_line`` (1-based)."""

    start: int
    end: int
    path: Path
    first_line: int
    synthetic: bool = False  # a line the build inserted (e.g. an appendix wrapper)


@dataclass
class SourceMap:
    segments: list[Segment] = field(default_factory=list)

    def locate(self, line: int | None) -> str:
        """``file:line`` of a 0-based line of the joined text."""
        if line is None or not self.segments:
            return location(self.segments[0].path) if self.segments else "article"
        for seg in self.segments:
            if seg.start <= line < seg.end:
                offset = 0 if seg.synthetic else line - seg.start
                return location(seg.path, seg.first_line + offset)
        last = self.segments[-1]
        return location(last.path, last.first_line + (last.end - last.start))

    def file_of(self, line: int) -> Path | None:
        for seg in self.segments:
            if seg.start <= line < seg.end:
                return seg.path
        return None


@dataclass
class Author:
    name: str
    affiliations: list[str] = field(default_factory=list)
    url: str | None = None
    orcid: str | None = None
    # A group or project rather than a person: cited whole, never as "Last, F.".
    organisation: bool = False


@dataclass
class FrontMatter:
    title: str
    subtitle: str | None = None
    authors: list[Author] = field(default_factory=list)
    date: str | None = None  # ISO date as written
    abstract: str | None = None  # Markdown
    doi: str | None = None
    url: str | None = None
    keywords: list[str] = field(default_factory=list)
    lang: str = "en"
    citation_key: str | None = None
    journal: str | None = None
    source_line: int = 1  # first line of the block in the first chapter
    abstract_line: int = 1

    @property
    def year(self) -> str | None:
        return self.date[:4] if self.date and re.match(r"\d{4}", self.date) else None


@dataclass
class ArticleSource:
    text: str
    source_map: SourceMap
    front: FrontMatter
    chapters: list[Path]
    first_file: Path


_FRONT_KEYS = {
    "title",
    "subtitle",
    "authors",
    "author",
    "date",
    "abstract",
    "doi",
    "url",
    "keywords",
    "lang",
    "citation_key",
    "journal",
}


def find_chapters(article_dir: Path) -> list[Path]:
    """Chapter files in name order; a lone index.md is the whole article."""
    if not article_dir.is_dir():
        raise BuildError(
            f"article folder {location(article_dir)} does not exist; pass --article with the folder that holds the chapters"
        )
    chapters = sorted(p for p in article_dir.glob("*.md") if p.is_file() and not p.name.startswith("."))
    # README.md documents the folder; it is not part of the article.
    chapters = [p for p in chapters if p.name.lower() != "readme.md"]
    if not chapters:
        raise BuildError(
            f"{location(article_dir)} has no Markdown chapters; add files such as 00-front.md, 01-intro.md or index.md"
        )
    return chapters


def _key_line(lines: list[str], key: str, base: int) -> int:
    """Line (1-based, in the file) where a front matter key is written, for messages."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[:=]")
    for i, line in enumerate(lines):
        if pattern.match(line):
            return base + i
    return base


def _parse_yaml(block: str, where_path: Path, base_line: int) -> dict[str, Any]:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML ships with the dev environment
        raise BuildError(
            "YAML front matter needs the PyYAML package; install it or write TOML front matter between '+++' lines",
            where=location(where_path, base_line),
        ) from exc

    class DatesAsText(yaml.SafeLoader):
        """Leaves `date: 2026-13-45` as text, so the date check names it instead of PyYAML crashing."""

    DatesAsText.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    try:
        data = yaml.load(block, Loader=DatesAsText)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = base_line + 1 + (mark.line if mark is not None else 0)
        problem = getattr(exc, "problem", None) or str(exc)
        raise BuildError(
            f"bad front matter: {problem}; check indentation and quote values that contain ':'",
            where=location(where_path, line),
        ) from exc
    return data if data is not None else {}


def _parse_toml(block: str, where_path: Path, base_line: int) -> dict[str, Any]:
    try:
        return tomllib.loads(block)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        # "at end of document" has no line: the problem is just before the closing fence.
        line = base_line + (int(match.group(1)) if match else block.count("\n") + 2)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise BuildError(f"bad front matter (TOML): {message}", where=location(where_path, line)) from exc


def _is_calendar_date(text: str) -> bool:
    """YYYY, YYYY-MM or YYYY-MM-DD naming a real month and day (2026-13-45 is not one)."""
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        return False
    try:
        _dt.date.fromisoformat((text + "-01-01")[:10] if len(text) < 10 else text)
    except ValueError:
        return False
    return True


def _as_text(value: Any, key: str, where: str) -> str:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()
    raise BuildError(f"front matter '{key}' must be text, got {type(value).__name__}", where=where)


def _parse_authors(value: Any, where: str) -> list[Author]:
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list):
        raise BuildError(
            "front matter 'authors' must be a list of names or of tables with 'name' and 'affiliation'",
            where=where,
        )
    authors = []
    for entry in value:
        if isinstance(entry, str):
            authors.append(Author(name=entry.strip()))
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BuildError("each author needs a 'name' (text)", where=where)
        unknown = set(entry) - {"name", "affiliation", "affiliations", "url", "orcid", "organisation"}
        if unknown:
            raise BuildError(
                f"unknown author field(s) {', '.join(sorted(unknown))}; "
                "use name, affiliation(s), url, orcid, organisation",
                where=where,
            )
        if not isinstance(entry.get("organisation", False), bool):
            raise BuildError(f"author {entry['name']!r}: 'organisation' must be true or false", where=where)
        affs = entry.get("affiliations", entry.get("affiliation", []))
        if isinstance(affs, str):
            affs = [affs]
        if not isinstance(affs, list) or not all(isinstance(a, str) for a in affs):
            raise BuildError(
                f"author {entry['name']!r}: 'affiliation' must be text or a list of text", where=where
            )
        authors.append(
            Author(
                name=entry["name"].strip(),
                affiliations=[a.strip() for a in affs],
                url=entry.get("url"),
                orcid=entry.get("orcid"),
                organisation=entry.get("organisation", False),
            )
        )
    return authors


def parse_front_matter(path: Path, text: str) -> tuple[FrontMatter | None, int]:
    """Parse a front matter block at the top of ``text``.

    Returns the front matter (or None) and the number of lines it occupies so
    the caller can blank them out (which keeps Markdown line numbers exact).
    """
    lines = text.split("\n")
    if not lines or lines[0].strip() not in ("---", "+++"):
        return None, 0
    fence = lines[0].strip()
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == fence)
    except StopIteration:
        raise BuildError(
            f"front matter opened with '{fence}' is never closed; end it with a line '{fence}'",
            where=location(path, 1),
        ) from None
    body_lines = lines[1:end]
    block = "\n".join(body_lines)
    data = _parse_yaml(block, path, 1) if fence == "---" else _parse_toml(block, path, 1)
    if not isinstance(data, dict):
        raise BuildError("front matter must be a set of 'key: value' lines", where=location(path, 2))

    def where(key: str) -> str:
        return location(path, _key_line(body_lines, key, 2))

    unknown = sorted(set(data) - _FRONT_KEYS)
    if unknown:
        raise BuildError(
            f"unknown front matter key {unknown[0]!r}; known keys: {', '.join(sorted(_FRONT_KEYS))}",
            where=where(unknown[0]),
        )
    if "title" not in data:
        raise BuildError("front matter has no 'title'; add 'title: ...'", where=location(path, 1))
    title = _as_text(data["title"], "title", where("title"))
    if not title:
        raise BuildError("front matter 'title' is empty", where=where("title"))
    authors_key = "authors" if "authors" in data else "author"
    authors = _parse_authors(data.get(authors_key, []), where(authors_key))
    keywords = data.get("keywords", [])
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",") if k.strip()]
    if not isinstance(keywords, list):
        raise BuildError("front matter 'keywords' must be a list", where=where("keywords"))

    def opt(key: str) -> str | None:
        return _as_text(data[key], key, where(key)) if key in data and data[key] is not None else None

    date = opt("date")
    if date and not _is_calendar_date(date):
        raise BuildError(
            f"front matter 'date' {date!r} is not a date; write it as YYYY-MM-DD", where=where("date")
        )
    front = FrontMatter(
        title=title,
        subtitle=opt("subtitle"),
        authors=authors,
        date=date,
        abstract=opt("abstract"),
        doi=opt("doi"),
        url=opt("url"),
        keywords=[str(k) for k in keywords],
        lang=opt("lang") or "en",
        citation_key=opt("citation_key"),
        journal=opt("journal"),
        source_line=1,
        abstract_line=_key_line(body_lines, "abstract", 2),
    )
    return front, end + 1


def load_article(article_dir: Path) -> ArticleSource:
    """Read the chapters, take the front matter from the first, and join them."""
    chapters = find_chapters(article_dir)
    parts: list[str] = []
    source_map = SourceMap()
    line_no = 0
    front: FrontMatter | None = None

    def add(text_lines: list[str], path: Path, first: int, synthetic: bool = False) -> None:
        nonlocal line_no
        parts.extend(text_lines)
        source_map.segments.append(Segment(line_no, line_no + len(text_lines), path, first, synthetic))
        line_no += len(text_lines)

    for index, path in enumerate(chapters):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise BuildError("is not UTF-8 text; save the chapter as UTF-8", where=location(path)) from exc
        text = text.replace("\r\n", "\n").lstrip("\ufeff")
        fm, fm_lines = parse_front_matter(path, text)
        if fm is not None and index > 0:
            raise BuildError(
                "front matter is only read from the first chapter; move it to "
                f"{chapters[0].name} or remove it here",
                where=location(path, 1),
            )
        if fm is not None:
            front = fm
        lines = text.split("\n")
        # Blank out the front matter so Markdown line numbers stay those of the file.
        lines = [""] * fm_lines + lines[fm_lines:]
        is_appendix = bool(APPENDIX_NAME.search(path.stem))
        if is_appendix:
            add(["::: appendix", ""], path, 1, synthetic=True)
        add(lines, path, 1)
        add(["", ":::" if is_appendix else "", ""], path, len(lines), synthetic=True)

    if front is None:
        raise BuildError(
            "the article has no front matter; start the first chapter with a '---' block holding at least 'title: ...'",
            where=location(chapters[0], 1),
        )
    return ArticleSource(
        text="\n".join(parts) + "\n",
        source_map=source_map,
        front=front,
        chapters=chapters,
        first_file=chapters[0],
    )
