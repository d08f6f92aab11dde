"""A small BibTeX reader and formatter for the article's references, and the article's own entry.

Why not a library: we need line numbers for every entry (so a bad entry fails
the build with ``references.bib:LINE``) and only the common subset of BibTeX —
entries, @string macros, braces/quotes, ``#`` concatenation and LaTeX accents.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sitebuild.errors import BuildError, location
from sitebuild.sources import Author, FrontMatter

_MONTHS = {
    m: str(i + 1)
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "c": "\u0327",
    "v": "\u030c",
    "u": "\u0306",
    "H": "\u030b",
    "k": "\u0328",
    "r": "\u030a",
}
_SYMBOLS = {
    r"\ss": "ß",
    r"\o": "ø",
    r"\O": "Ø",
    r"\ae": "æ",
    r"\AE": "Æ",
    r"\aa": "å",
    r"\AA": "Å",
    r"\l": "ł",
    r"\L": "Ł",
    r"\i": "ı",
    r"\&": "&",
    r"\%": "%",
    r"\$": "$",
    r"\_": "_",
    r"\#": "#",
}


@dataclass
class BibEntry:
    key: str
    type: str
    fields: dict[str, str]
    line: int
    path: Path

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        return latex_to_text(value) if value else None


@dataclass
class Bibliography:
    entries: dict[str, BibEntry] = field(default_factory=dict)
    path: Path | None = None


def latex_to_text(value: str) -> str:
    """Turn the LaTeX found in bibliographies into plain Unicode text."""
    text = value
    # \"{a}, \"a, {\"a}
    text = re.sub(
        r"\\([\"'`^~=.cvuHkr])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))",
        lambda m: unicodedata.normalize(
            "NFC", (m.group(2) or m.group(3)).replace("\\i", "i") + _ACCENTS[m.group(1)]
        ),
        text,
    )
    for macro, char in sorted(_SYMBOLS.items(), key=lambda kv: -len(kv[0])):
        if macro[-1].isalpha():
            # \ss must not match \ssomething; one following space ends the macro name.
            text = re.sub(re.escape(macro) + r"(?![A-Za-z])(?:\{\}| )?", lambda _m, c=char: c, text)
        else:
            text = text.replace(macro, char)
    text = re.sub(r"\\(?:emph|textit|textbf|textsc|texttt|mathrm|url)\s*\{", "{", text)
    text = text.replace("---", "\u2014").replace("--", "\u2013").replace("~", "\u00a0")
    text = text.replace("``", "\u201c").replace("''", "\u201d")
    text = text.replace("{", "").replace("}", "")
    # Only ASCII whitespace: the no-break spaces made from '~' must survive.
    return re.sub(r"[ \t\r\n]+", " ", text).strip(" ")


class _Reader:
    def __init__(self, text: str, path: Path):
        self.text = text
        self.path = path
        self.pos = 0
        self.macros: dict[str, str] = dict(_MONTHS)

    def line(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def fail(self, message: str, pos: int | None = None) -> BuildError:
        return BuildError(message, where=location(self.path, self.line(pos)))

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_ws()
        if self.pos >= len(self.text) or self.text[self.pos] != char:
            found = self.text[self.pos] if self.pos < len(self.text) else "end of file"
            raise self.fail(f"expected {char!r} but found {found!r}; check the entry's braces and commas")
        self.pos += 1

    def name(self) -> str:
        self.skip_ws()
        match = re.compile(r"[^\s,={}()\"#%]+").match(self.text, self.pos)
        if not match:
            raise self.fail("expected a name (entry key or field name)")
        self.pos = match.end()
        return match.group(0)

    def braced(self) -> str:
        start = self.pos
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return self.text[start + 1 : self.pos - 1]
            self.pos += 1
        raise self.fail("unbalanced braces: a '{' is never closed", start)

    def quoted(self) -> str:
        start = self.pos
        self.pos += 1
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            elif char == '"' and depth == 0:
                self.pos += 1
                return self.text[start + 1 : self.pos - 1]
            self.pos += 1
        raise self.fail('a quoted value is never closed with "', start)

    def value(self) -> str:
        parts = []
        while True:
            self.skip_ws()
            if self.pos >= len(self.text):
                raise self.fail("the file ends inside a field value")
            char = self.text[self.pos]
            if char == "{":
                parts.append(self.braced())
            elif char == '"':
                parts.append(self.quoted())
            else:
                start = self.pos
                word = self.name()
                if word.isdigit():
                    parts.append(word)
                elif word.lower() in self.macros:
                    parts.append(self.macros[word.lower()])
                else:
                    raise self.fail(f"unknown BibTeX macro {word!r}; put text values in braces", start)
            self.skip_ws()
            if self.pos < len(self.text) and self.text[self.pos] == "#":
                self.pos += 1
                continue
            return "".join(parts)

    def fields(self, closer: str, entry_start: int) -> dict[str, str]:
        out: dict[str, str] = {}
        while True:
            self.skip_ws()
            if self.pos >= len(self.text):
                raise self.fail("this entry is never closed; check its braces", entry_start)
            if self.pos < len(self.text) and self.text[self.pos] == closer:
                self.pos += 1
                return out
            start = self.pos
            name = self.name().lower()
            self.expect("=")
            if name in out:
                raise self.fail(f"field {name!r} appears twice in this entry", start)
            out[name] = self.value()
            self.skip_ws()
            if self.pos >= len(self.text):
                raise self.fail("this entry is never closed; check its braces", entry_start)
            if self.text[self.pos] == ",":
                self.pos += 1
            elif self.pos < len(self.text) and self.text[self.pos] == closer:
                continue
            else:
                raise self.fail("expected ',' between fields or the closing brace of the entry")

    def read(self) -> dict[str, BibEntry]:
        entries: dict[str, BibEntry] = {}
        while True:
            at = self.text.find("@", self.pos)
            if at < 0:
                return entries
            self.pos = at + 1
            kind = self.name().lower()
            self.skip_ws()
            if self.pos >= len(self.text) or self.text[self.pos] not in "{(":
                raise self.fail(f"expected '{{' after @{kind}", at)
            closer = "}" if self.text[self.pos] == "{" else ")"
            if kind == "comment":
                self.braced() if closer == "}" else None
                continue
            if kind == "preamble":
                self.braced()
                continue
            self.pos += 1
            if kind == "string":
                for key, value in self.fields(closer, at).items():
                    self.macros[key.lower()] = value
                continue
            key = self.name()
            if key in entries:
                raise self.fail(
                    f"citation key {key!r} is defined twice (first at line {entries[key].line})", at
                )
            self.skip_ws()
            fields: dict[str, str] = {}
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1
                fields = self.fields(closer, at)
            else:
                self.expect(closer)
            entries[key] = BibEntry(key=key, type=kind, fields=fields, line=self.line(at), path=self.path)


def load_bibliography(path: Path) -> Bibliography:
    if not path.is_file():
        return Bibliography(path=None)
    text = path.read_text(encoding="utf-8")
    return Bibliography(entries=_Reader(text, path).read(), path=path)


# -- the article's own entry (the page's "Cite" box) ----------------------------------------------------


def _key_word(name: str) -> str:
    """A name's letters and digits, lower case: the author part of a citation key."""
    return re.sub(r"[\W_]+", "", name.lower())


def _name_parts(author: Author) -> tuple[str, str]:
    """(given, last) of a person; an organisation is all "last", as BibTeX's {Braced Name}."""
    if author.organisation:
        return "", author.name
    parts = split_authors(author.name)
    return parts[0] if parts else ("", author.name)


def article_bibtex(front: FrontMatter) -> str:
    """A BibTeX entry readers can copy to cite the article."""
    first = front.authors[0] if front.authors else None
    year = front.year or str(_dt.date.today().year)
    title_word = next((w for w in re.findall(r"[A-Za-z]+", front.title) if len(w) > 3), "article")
    author_word = _key_word(_name_parts(first)[1]) if first else ""
    key = front.citation_key or f"{author_word or 'anonymous'}{year}{title_word.lower()}"
    authors = " and ".join(
        f"{last}, {given}" if given else (f"{{{last}}}" if a.organisation else last)
        for a in front.authors
        for given, last in [_name_parts(a)]
    )
    fields = [("author", authors), ("title", front.title)]
    if front.journal:
        fields.append(("journal", front.journal))
    fields.append(("year", year))
    if front.url:
        fields.append(("url", front.url))
    if front.doi:
        fields.append(("doi", front.doi))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    kind = "article" if front.journal else "misc"
    return f"@{kind}{{{key},\n{body}\n}}"


def article_citation_text(front: FrontMatter) -> str:
    """The same as one line of text: "Last, F. (year). Title. Journal. link"."""
    names = []
    for author in front.authors:
        given, last = _name_parts(author)
        given_initials = " ".join(p[0] + "." for p in given.split() if p)
        names.append(f"{last}, {given_initials}".strip(", "))
    people = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + (names[-1] if names else "")
    text = f"{people} ({front.year or 'n.d.'}). {front.title}."
    if front.journal:
        text += f" {front.journal}."
    if front.doi:
        text += f" https://doi.org/{front.doi}"
    elif front.url:
        text += f" {front.url}"
    return text.strip()


# -- formatting ---------------------------------------------------------------------------------------


def _words(name: str) -> list[str]:
    """Split at spaces outside braces: 'John {van Dyke}' -> ['John', '{van Dyke}']."""
    words, depth, current = [], 0, ""
    for char in name:
        depth += char == "{"
        depth -= char == "}"
        if char.isspace() and depth == 0:
            if current:
                words.append(current)
            current = ""
        else:
            current += char
    return [*words, current] if current else words


def split_authors(value: str) -> list[tuple[str, str]]:
    """'Last, First and First von Last' -> [(first, last), ...] with LaTeX turned into text."""
    names = []
    for raw in re.split(r"\s+and\s+", value.strip()):
        raw = raw.strip()
        if not raw:
            continue
        if raw.startswith("{") and raw.endswith("}") and raw.count("{") == 1:
            names.append(("", latex_to_text(raw)))  # a corporate author: {OpenAI}
            continue
        if "," in raw:
            last, _, first = raw.partition(",")
        else:
            words = _words(raw)
            # The last name starts at a lower-case particle ('van', 'de') or is the last word.
            split = next((i for i, w in enumerate(words[:-1]) if i > 0 and w[:1].islower()), len(words) - 1)
            first, last = " ".join(words[:split]), " ".join(words[split:])
        names.append((latex_to_text(first), latex_to_text(last)))
    return names


def initials(first: str) -> str:
    parts = re.split(r"(\s+|-)", first)
    out = []
    for part in parts:
        if part.strip() in ("", "-"):
            out.append("-" if part == "-" else " ")
        else:
            out.append(part[0] + ".")
    return "".join(out).replace(" -", "-").strip()


def format_author_list(value: str, limit: int = 6) -> str:
    names = [f"{initials(f)} {last}".strip() if f else last for f, last in split_authors(value)]
    if len(names) > limit:
        return ", ".join(names[:3]) + " et al."
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def entry_link(entry: BibEntry) -> str | None:
    doi = entry.get("doi")
    if doi:
        return doi if doi.startswith("http") else f"https://doi.org/{doi}"
    url = entry.get("url")
    if url:
        return url
    eprint = entry.get("eprint")
    if eprint and (entry.get("archiveprefix") or entry.get("eprinttype") or "").lower() == "arxiv":
        return f"https://arxiv.org/abs/{eprint}"
    return None


def format_entry_html(entry: BibEntry) -> str:
    """One formatted reference (HTML, escaped) without the number."""
    esc = html.escape
    parts: list[str] = []
    authors = entry.fields.get("author") or entry.fields.get("editor")
    if authors:
        names = format_author_list(authors)
        parts.append(f'<span class="ref-authors">{esc(names)}</span>' + ("" if names.endswith(".") else "."))
    title = entry.get("title")
    if title:
        parts.append(f'<span class="ref-title">{esc(title)}</span>.')
    venue = (
        entry.get("journal") or entry.get("booktitle") or entry.get("howpublished") or entry.get("publisher")
    )
    if not venue and entry.get("eprint"):
        venue = f"arXiv:{entry.get('eprint')}"
    detail = []
    if venue:
        detail.append(f"<em>{esc(venue)}</em>")
    volume = entry.get("volume")
    if volume:
        number = entry.get("number")
        detail.append(esc(volume + (f"({number})" if number else "")))
    pages = entry.get("pages")
    if pages:
        detail.append(esc("pp. " + pages.replace("--", "\u2013")))
    year = entry.get("year")
    if year:
        detail.append(esc(year))
    if detail:
        parts.append(", ".join(detail) + ".")
    link = entry_link(entry)
    if link:
        shown = link.removeprefix("https://").removeprefix("http://")
        parts.append(f'<a class="ref-link" href="{esc(link)}">{esc(shown)}</a>')
    return " ".join(parts)


def format_entry_text(entry: BibEntry) -> str:
    """The same reference as plain text (for tooltips)."""
    return re.sub(r"<[^>]+>", "", html.unescape(format_entry_html(entry)))


def short_author(entry: BibEntry) -> str:
    names = split_authors(entry.fields.get("author") or entry.fields.get("editor") or "")
    if not names:
        return entry.get("title") or entry.key
    if len(names) == 1:
        return names[0][1]
    if len(names) == 2:
        return f"{names[0][1]} and {names[1][1]}"
    return f"{names[0][1]} et al."


def bibtex_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
