"""The page's port of open_clip's tokenizer (site/static/js/live/bpe.js) gives the ids
open_clip.get_tokenizer gives, run in Chromium on a few hundred varied captions: punctuation,
digits, accents and other scripts, emoji, HTML entities, curly quotes, ligatures, full-width
forms, control characters, odd whitespace, contractions, typed special tokens and text longer
than the context. The tables come from exporter/live/tokenizers.py, as an export writes them."""

from __future__ import annotations

import html.entities
import itertools
import random

import open_clip
import pytest
from browser_support import FigurePage
from open_clip.tokenizer import SimpleTokenizer

from exporter.live.tokenizers import describe_tokenizer
from headless.harness import SUBPATH, prepare_root
from headless.server import serve

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bpe</title>
<link rel="icon" href="data:,"></head><body>
<script type="module">
import { loadBpe, makeBpe, makeCleaner } from "./static/js/live/bpe.js";
const desc = await (await fetch("data/tokenizer.json")).json();
const base = new URL("data/", document.baseURI);
window.__bpe = await loadBpe(desc, (rel) => new URL(rel, base));
window.__desc = desc;
window.__tables = await (await fetch(new URL(desc.tables.file, base))).json();
window.__merges = new Uint8Array(await (await fetch(new URL(desc.merges.file, base))).arrayBuffer());
window.__make = (changes) => makeBpe({ ...desc, ...changes }, window.__merges, window.__tables);
window.__cleaner = makeCleaner;
window.__ready = true;
</script></body></html>
"""

BASE = [
    "a photo of a dog",
    "A man riding a wave on top of a surfboard.",
    "Two giraffes standing next to each other in a field",
    "a large red circle left of a small blue square",
    "THE CAT'S TOY ISN'T HERE, WE'LL SEE; THEY'VE GONE & I'M OFF",
    "price: $3.99 (was 12,500.00) -- 50% off!!!",
    "room 101, 2nd floor; call +1-555-0100 at 7:30pm",
    "email me@example.org or visit example.org/a_b?c=d#e",
    "C++ vs. C# :-) <3 ~~~ ^_^ |x| \\ backslash / slash",
    "café naïve résumé coöperate façade Ångström",
    "Straße in München, Ärger über Öl",
    "日本の猫が窓の外を見ている",
    "고양이가 창밖을 보고 있다",
    "Кошка сидит на окне",
    "Η γάτα κάθεται. ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ",
    "القطة تجلس على النافذة",
    "बिल्ली खिड़की पर बैठी है",
    "a dog 🐶 and a cat 🐱 with a 👍🏽 and a family 👨‍👩‍👧",
    "the number ①②③ and ½ ¼ and ² ³ and Ⅻ",
    "Tom &amp; Jerry &lt;3 &quot;friends&quot; &#39;forever&#39; &#x263A; &eacute;t&eacute;",
    "A&EACUTE;ROPORT &NTILDE; &nTILDE; &amp &ampfoo &notit; &#0; &#128; &#xD800; &#1114112;",
    "“curly” ‘quotes’ ‚low‛ „double‟ ʼapostrophe",
    "ﬁne ﬂowers ﬀ ﬃ ﬄ ﬅ ﬆ Ĳssel ǅ",
    "ＬＯＵＤ　ＮＯＩＳＥＳ and ｶﾀｶﾅ and ０１２",
    "tab\there  double  space\nnew line\r\nwindows\rmac\u2028sep\u2029para\x85next",
    "\x00null\x07bell\x1bescape \x1b[31mred\x1b[0m \x7fdel \ufeffbom \u200bzero-width \u00a0nbsp",
    "  leading and trailing spaces   ",
    "\x1c\x1d\x1e\x1f file separators \u3000 ideographic \u2003 em space",
    "<start_of_text> typed special tokens <end_of_text> and <START_OF_TEXT>",
    "it's isn't they're we've I'm you'll he'd IT'S 'S 'ſ",
    "under_score snake_case kebab-case CamelCaseWord",
    "e\u0301 decomposed vs é composed, Å vs A\u030a",
    "İstanbul ǅemal ß ẞ ﬃ",
    "zalgo t̷̢̛e̵͎̓x̴̣̍t̶̰̾",
    "",
    "   ",
    "....",
    "a",
    "1234567890",
    "Mixed <b>tags</b> &amp; entities",
]

FRAGMENTS = [
    "dog",
    "Cat",
    "RED",
    "3",
    "42",
    "3.14",
    "!",
    "?!",
    "...",
    ",",
    "'s",
    "'LL",
    "é",
    "ö",
    "ß",
    "猫",
    "🐶",
    "&amp;",
    "&gt;",
    "“",
    "”",
    "’",
    "ﬁ",
    "Ａ",
    "\t",
    "  ",
    "\n",
    "-",
    "_",
    "#",
    "(",
    ")",
    "[x]",
    "{y}",
    "$",
    "€",
    "£",
    "%",
    "@",
    "/",
    "\\",
    "ΣΑ",
    "Σ",
    "ς",
    "naïve",
    "x²",
]


def corpus() -> list[str]:
    rng = random.Random(14)
    texts = list(BASE)
    for _ in range(260):
        n = rng.randint(1, 14)
        glue = rng.choice([" ", "", "  ", " \t "])
        texts.append(glue.join(rng.choice(FRAGMENTS + BASE[:6]) for _ in range(n)))
    texts.append(" ".join(BASE))  # far beyond 77 tokens
    texts.append("a " * 200)
    return texts


@pytest.fixture(scope="module")
def bpe_page(browser, tmp_path_factory):
    import json

    root = tmp_path_factory.mktemp("bpe")
    data = root / "export"
    data.mkdir()
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    desc = describe_tokenizer(tokenizer, "open_clip:ViT-B-32", data)
    (data / "tokenizer.json").write_text(json.dumps(desc), encoding="utf-8")
    top = prepare_root(root, data)
    (top / "bpe.html").write_text(PAGE, encoding="utf-8")
    with serve(root) as url:
        fp = FigurePage(browser, (f"{url}{SUBPATH}/", top))
        fp.page.goto(fp.base_url + "bpe.html")
        fp.page.wait_for_function("() => window.__ready === true", timeout=30000)
        yield fp.page, tokenizer, desc
        try:
            fp.assert_clean()
        finally:
            fp.context.close()


def _no_mojibake(texts):
    """The corpus avoids what the port leaves out: ftfy's mojibake repair would change nothing."""
    import ftfy

    for text in texts:
        assert ftfy.fix_text(text) == ftfy.fix_text(text, fix_encoding=False), text


def test_page_tokenizer_equals_open_clip_on_varied_captions(bpe_page):
    page, tokenizer, desc = bpe_page
    texts = corpus()
    assert len(texts) >= 300
    _no_mojibake(texts)
    got = page.evaluate("(t) => t.map((s) => [...window.__bpe.encode(s).ids])", texts)
    expected = tokenizer(texts).tolist()
    wrong = [(t, g, e) for t, g, e in zip(texts, got, expected, strict=True) if g != e]
    assert not wrong, f"{len(wrong)} of {len(texts)} differ, first: {wrong[0]!r}"
    # The corpus exercises truncation and the whole vocabulary range.
    assert sum(1 for e in expected if e[-1] != 0) >= 2
    assert max(max(e) for e in expected) == desc["eot_id"]
    assert len({tuple(e) for e in expected}) > 250


def test_truncation_at_a_short_context_keeps_the_end_token(bpe_page):
    page, _, _ = bpe_page
    short = SimpleTokenizer(context_length=16)
    texts = corpus()[:80]
    got = page.evaluate(
        "(t) => { const b = window.__make({ context_length: 16 }); return t.map((s) => [...b.encode(s).ids]); }",
        texts,
    )
    assert got == short(texts).tolist()
    flags = page.evaluate(
        "(t) => t.map((s) => window.__make({ context_length: 16 }).encode(s).truncated)", texts
    )
    assert flags == [len(short.encode(t)) + 2 > 16 for t in texts]
    assert any(flags) and not all(flags)


@pytest.mark.parametrize("clean", ["whitespace", "canonicalize"])
def test_other_cleaning_modes(bpe_page, clean):
    page, _, _ = bpe_page
    other = SimpleTokenizer(clean=clean)
    texts = corpus()[:120]
    got = page.evaluate(
        "([t, c]) => { const b = window.__make({ clean: c }); return t.map((s) => [...b.encode(s).ids]); }",
        [texts, clean],
    )
    assert got == other(texts).tolist()


def test_every_html_entity_is_cleaned_as_in_python(bpe_page):
    """ftfy's entity table (HTML5 names and its upper-cased Latin ones) and html.unescape's rules,
    on every name, with and without the semicolon."""
    import ftfy.chardata
    from open_clip.tokenizer import _clean_lower

    page, _, _ = bpe_page
    names = list(ftfy.chardata.HTML_ENTITIES) + ["&" + n for n in html.entities.html5]
    texts = [f"x{n}y" for n in names] + [f"x{n}" for n in names]
    got = page.evaluate(
        "(t) => { const c = window.__cleaner(window.__tables, 'lower'); return t.map((s) => c(s)); }", texts
    )
    wrong = [
        (t, g, e) for t, g, e in ((t, g, _clean_lower(t)) for t, g in zip(texts, got, strict=True)) if g != e
    ]
    assert not wrong, f"{len(wrong)} of {len(texts)} differ, first: {wrong[0]!r}"


def test_vocabulary_is_rebuilt_from_the_merges(bpe_page):
    page, tokenizer, desc = bpe_page
    assert page.evaluate("() => window.__bpe.vocabularySize") == len(tokenizer.encoder) == 49408
    # Every merge's own string tokenises to its single id (ranks and vocabulary line up).
    import ftfy

    words = [
        w[: -len("</w>")]
        for w, i in itertools.islice(tokenizer.encoder.items(), 40000, 40400)
        if w.endswith("</w>")
    ]
    # Byte symbols of emoji read like mojibake ("âĢ¦"), which the page does not repair.
    words = [w for w in words if ftfy.fix_text(w) == ftfy.fix_text(w, fix_encoding=False)]
    assert len(words) > 150
    got = page.evaluate("(t) => t.map((s) => window.__bpe.tokens(s))", words)
    assert got == [tokenizer.encode(w) for w in words]
    assert desc["merges"]["bytes"] == 48894 * 4
