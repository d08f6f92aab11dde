"""Each Markdown feature of the article syntax (sitebuild/SYNTAX.md), built end to end."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from sitebuild.errors import BuildError

BIB = """
@article{liang2022,
  title = {Mind the Gap},
  author = {Liang, Weixin and Zhang, Yuhui and Zou, James},
  journal = {NeurIPS},
  year = {2022},
  doi = {10.5555/gap}
}
@misc{radford2021, title = {CLIP}, author = {Alec Radford}, year = 2021}
"""


def _text(page: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", "", page)).split())


def test_front_matter_title_block_byline_abstract(article, build):
    folder = article(
        {
            "00-front.md": """\
            ---
            title: Mind the Gap
            subtitle: A subtitle
            authors:
              - name: Ada Lovelace
                affiliations: [Engines, Numbers]
              - name: Charles Babbage
                affiliation: Engines
                url: https://example.org/cb
            date: 2025-11-24
            abstract: |
              An abstract with **bold** and {{ count models }} models.
            ---
            # Intro
            """
        },
        front=False,
    )
    _, page = build(folder)
    assert "<title>Mind the Gap: A subtitle</title>" in page
    assert '<h1 class="article-title">Mind the Gap</h1>' in page
    assert '<p class="article-subtitle">A subtitle</p>' in page
    assert re.search(r"Ada Lovelace<sup class=\"aff-number\">1,2</sup>", page)
    assert re.search(
        r'href="https://example.org/cb">Charles Babbage</a><sup class="aff-number">1</sup>', page
    )
    assert "<li>Engines</li><li>Numbers</li>" in page  # each affiliation once, in order
    assert '<time datetime="2025-11-24">November 24, 2025</time>' in page
    assert re.search(
        r'class="abstract".*<strong>bold</strong> and <data class="data-ref" value="3"', page, re.S
    )


def test_toml_front_matter(article, build):
    folder = article(
        {
            "index.md": '+++\ntitle = "TOML article"\n[[authors]]\nname = "Grace Hopper"\naffiliation = "Navy"\n+++\n\n# One\n'
        },
        front=False,
    )
    _, page = build(folder)
    assert "TOML article" in page and "Grace Hopper" in page and "<li>Navy</li>" in page


def test_headings_ids_toc_and_levels(article, build):
    folder = article(
        {
            "00-a.md": "# First chapter\n\n## A part {#sec-part}\n\ntext\n",
            "01-b.md": "# First chapter\n\nSee @sec-part and [](#sec-part).\n",
        }
    )
    report, page = build(folder)
    # '#' becomes <h2> (the title is the only <h1>); duplicate titles get unique ids.
    assert '<h2 id="first-chapter">First chapter</h2>' in page
    assert '<h2 id="first-chapter-2">First chapter</h2>' in page
    assert '<h3 id="sec-part">A part</h3>' in page
    toc = page[page.index('<nav class="toc"') : page.index("</nav>")]
    assert '<a href="#first-chapter">' in toc and '<a href="#sec-part">A part</a>' in toc
    assert page.count('<a class="xref" href="#sec-part">A part</a>') == 2
    assert report.warnings == []


def test_skipped_heading_level_warns(article, build):
    folder = article({"00-a.md": "# One\n\n### Three\n"})
    report, _ = build(folder)
    assert len(report.warnings) == 1 and "00-a.md:" in report.warnings[0] and "h2 to h4" in report.warnings[0]


def test_footnotes_have_accessible_tips_and_a_list(article, build):
    folder = article(
        {"00-a.md": "# A\n\nClaim.[^n] Inline.^[An *inline* note.]\n\n[^n]: The **note** text.\n"}
    )
    report, page = build(folder)
    assert report.footnotes == 2
    match = re.search(
        r'<a href="#fn1" id="fnref1" aria-describedby="(tip-\d+)">1</a></sup>'
        r'<span class="tip" role="tooltip" id="\1">The <strong>note</strong> text.</span>',
        page,
    )
    assert match, page
    assert "An <em>inline</em> note.</span>" in page
    notes = page[page.index('class="footnotes"') :]
    assert '<li id="fn1" class="footnote-item">' in notes and 'href="#fnref1"' in notes


def test_citations_numbered_in_reading_order_with_bibliography(article, build):
    folder = article(
        {"00-a.md": "# A\n\nFirst [@radford2021], then [@liang2022; @radford2021, p. 4].\n"}, bib=BIB
    )
    report, page = build(folder)
    assert report.citations == 2
    assert re.search(r'<a class="cite" href="#ref-radford2021" aria-describedby="tip-\d+">1</a>', page)
    assert re.search(r'href="#ref-liang2022" aria-describedby="tip-\d+">2</a>', page)
    assert re.search(r'href="#ref-radford2021" aria-describedby="tip-\d+">1, p. 4</a>', page)
    refs = page[page.index('class="reference-list"') :]
    assert refs.index('id="ref-radford2021"') < refs.index('id="ref-liang2022"')
    assert (
        "W. Liang, Y. Zhang and J. Zou. Mind the Gap." in _text(refs)
        and 'href="https://doi.org/10.5555/gap"' in refs
    )
    assert "A. Radford. CLIP. 2021." in _text(refs)


def test_math_renders_to_mathml(article, build):
    folder = article({"00-a.md": "# A\n\nInline $x^2$ and $5 or $10.\n\n$$\n\\frac{a}{b}\n$$\n"})
    _, page = build(folder)
    assert (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup>'
        in page
    )
    assert 'display="block"><mrow><mfrac>' in page
    assert "$5 or $10" in page
    assert "katex" not in page.lower() and "mathjax" not in page.lower()


def test_code_blocks_keep_language_and_highlight(article, build):
    folder = article({"00-a.md": "# A\n\n```python\nx = 1  # one\n```\n\n```\nplain <b>\n```\n"})
    _, page = build(folder)
    assert '<pre class="code" tabindex="0"><code class="language-python">' in page
    assert '<span class="c1"># one</span>' in page  # Pygments classes (styled in article.css)
    assert "plain &lt;b&gt;" in page


def test_figure_directive_emits_mount_caption_alt_and_data_links(article, build):
    folder = article(
        {
            "00-a.md": """\
            # A

            ::: figure heatmap {#fig-x .wide}
            dataset: samples
            model: pocket-infonce
            options: quadrant=image-text, gamma=0.5, cells=12, labels=true
            alt: A matrix with a bright
              diagonal.

            Caption with *emphasis*.

            Second caption paragraph.
            :::

            As @fig-x shows.
            """
        }
    )
    _, page = build(folder)
    figure = page[page.index('<figure class="figure figure-heatmap layout-wide"') : page.index("</figure>")]
    config = json.loads(unescape(re.search(r'data-config="([^"]+)"', figure).group(1)))
    assert config["models"] == ["pocket:infonce"]  # slugs resolve to model names
    assert config["options"] == {"quadrant": "image-text", "gamma": 0.5, "cells": 12, "labels": True}
    assert '<p class="visually-hidden" id="fig-x-alt">A matrix with a bright diagonal.</p>' in figure
    assert 'aria-describedby="fig-x-alt"' in figure
    assert '<span class="figure-number">Figure 1.</span> <p>Caption with <em>emphasis</em>.</p>' in figure
    assert "Second caption paragraph." in figure
    assert re.search(
        r'href="data/results/pocket-infonce/samples/similarity.json\?v=[0-9a-f]{10}" download', figure
    )
    assert '<a class="xref" href="#fig-x">Figure 1</a> shows' in page


def test_untrained_models_are_flagged(article, build):
    folder = article(
        {"00-a.md": "# A\n\n::: figure retrieval\ndataset: samples\nmodel: random:clip\nalt: Lists.\n:::\n"}
    )
    _, page = build(folder)
    assert 'class="figure-warning"' in page and "Random CLIP uses random weights" in page
    assert 'id="fig-retrieval-1"' in page  # id generated when none is given


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        ("metric pocket:infonce samples recall_t2i.r1 | pct", r"\d{1,3}%"),
        ("metric pocket:infonce samples recall_t2i.r1 | pct:1", r"\d{1,3}\.\d%"),
        ("metric pocket:infonce samples centroid_distance | fixed:3", r"\d\.\d{3}"),
        ("metric pocket:infonce samples centroid_distance", r"\d\.\d{2}"),
        ("metric pocket:infonce samples closed.recall_i2t.r5 | pct", r"\d{1,3}%"),
        ('metric pocket:infonce samples "zeroshot.a photo of a {}." | pct', r"\d{1,3}%"),
        ("model pocket:siglip logit_bias | signed:1", "\u221210.0"),
        ("model pocket:infonce label", r"InfoNCE \(pocket\)"),
        ("model pocket:infonce embed_dim", "8"),
        ("dataset shapes n", "10"),
        ("count pairs shapes", "10"),
        ("count models", "3"),
        ("count models samples", "3"),
        ("count datasets", "2"),
        ("count classes samples", "2"),
        ("result pocket:infonce shapes gap gap_vector_norm | sig:2", r"\d\.\d+|\d"),
        ("result pocket:infonce samples zeroshot runs.-1.template", r"a photo of a \{\}\."),
        ("training pocket:infonce curve.loss.-1 | fixed:1", r"\d\.\d"),
        ("manifest seed | int", "31,415"),
        ("model pocket:infonce logit_scale | times", r"14\.3\u00d7"),
    ],
)
def test_data_bound_values(article, build, ref, shown):
    folder = article({"00-a.md": f"# A\n\nValue: {{{{ {ref} }}}}.\n"})
    _, page = build(folder)
    match = re.search(r'<data class="data-ref" value="[^"]*" title="[^"]*">([^<]*)</data>', page)
    assert match and re.fullmatch(shown, unescape(match.group(1))), (ref, match and match.group(1))


def test_data_refs_are_not_expanded_in_code(article, build):
    folder = article({"00-a.md": "# A\n\n`{{ count models }}`\n\n```\n{{ nothing here }}\n```\n"})
    _, page = build(folder)
    assert "<code>{{ count models }}</code>" in page and "{{ nothing here }}" in page


def test_conditional_sections(article, build):
    folder = article(
        {
            "00-a.md": """\
            # A

            ::: if-model pocket:infonce
            SHOWN-MODEL
            :::

            ::: if-model open_clip:ViT-B-32:openai
            HIDDEN-MODEL {{ metric open_clip:ViT-B-32:openai samples centroid_distance }} @fig-none [@nokey]

            ::: figure heatmap {#fig-hidden}
            dataset: coco
            model: open_clip:ViT-B-32:openai
            alt: never built
            :::
            :::

            ::: if-dataset shapes
            SHOWN-DATASET
            :::

            ::: unless-dataset coco
            SHOWN-UNLESS
            :::

            ::: if-result random:clip samples
            SHOWN-RESULT
            :::

            ::: if-result random:clip coco
            HIDDEN-RESULT
            :::
            """
        }
    )
    report, page = build(folder)
    for word in ("SHOWN-MODEL", "SHOWN-DATASET", "SHOWN-UNLESS", "SHOWN-RESULT"):
        assert word in page
    assert "HIDDEN" not in page and report.figures == 0


def test_appendix_by_file_name_and_directive(article, build):
    folder = article(
        {
            "00-a.md": "# Body\n\n::: appendix\n# Extra details\n\nIn the appendix.\n:::\n",
            "90-appendix.md": "# Methods\n\nHow it was made.\n",
        }
    )
    _, page = build(folder)
    body = page[page.index('<article class="article-body">') : page.index("</article>")]
    appendix = page[page.index('<footer class="appendix"') :]
    assert "Body" in body and "Extra details" not in body and "Methods" not in body
    assert appendix.index("Extra details") < appendix.index("Methods")
    # Appendix chapters sit under the page's "Appendix" <h2>, so their '#' headings are <h3>.
    assert (
        '<h3 id="methods">Methods</h3>' in appendix
        and '<h3 id="extra-details">Extra details</h3>' in appendix
    )
    toc = page[page.index('<nav class="toc"') : page.index("</nav>")]
    appendix_toc = toc[toc.index('href="#appendix"') :]
    assert 'href="#methods"' in appendix_toc and 'href="#methods"' not in toc[: toc.index('href="#appendix"')]


def test_cite_this_article_block(article, build):
    folder = article({"00-a.md": "# A\n"})
    _, page = build(folder)
    block = unescape(page[page.index('class="code cite-bibtex"') :])
    assert "@misc{lovelace2025test," in block
    assert "author = {Lovelace, Ada}" in block and "title = {A Test}" in block and "year = {2025}" in block
    assert "Lovelace, A. (2025). A Test." in _text(page)


def test_data_reference_inside_math_becomes_its_value(article, build, export_dir):
    import json

    manifest = json.loads((export_dir / "manifest.json").read_text())
    model = next(m for m in manifest["models"] if m["name"] == "pocket:infonce")
    folder = article(
        {
            "00-a.md": "# A\n\nLearned: $\\tau = {{ model pocket:infonce temperature | fixed:3 }}$ for {{ model pocket:infonce label }}.\n\n$$\n\\text{model} = {{ model pocket:infonce label }}\n$$\n"
        }
    )
    _, page = build(folder)
    inline = page[page.index("Learned:") : page.index("</math>", page.index("Learned:"))]
    assert f"<mn>{model['temperature']:.3f}</mn>" in inline
    assert (
        "model" not in inline.split("<math", 1)[1].split(">", 1)[1]
    )  # no reference words typeset as variables
    display = page[page.index('class="math-display"') :]
    assert model["label"].split()[0] in display[: display.index("</math>")]


def test_organisation_author_is_cited_whole(article, build):
    front = '---\ntitle: "A Test"\ndate: 2025-01-02\nauthors:\n  - name: The Analytical Society\n    organisation: true\n  - name: Ada Lovelace\n---\n\n'
    folder = article({"00-a.md": front + "# A\n"}, front=False)
    _, page = build(folder)
    block = unescape(page[page.index('class="code cite-bibtex"') :])
    assert "author = {{The Analytical Society} and Lovelace, Ada}" in block
    assert "The Analytical Society and Lovelace, A. (2025). A Test." in _text(page)


def test_notes_tables_deflists_images(article, build):
    folder = article(
        {
            "00-a.md": "# A\n\n::: aside\nAn aside.\n:::\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nTerm\n: Definition\n\n![Two cones](img/c.svg)\n"
        }
    )
    (folder / "img").mkdir()
    (folder / "img/c.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    _, page = build(folder)
    assert '<aside class="aside">' in page
    assert '<div class="table-wrap" tabindex="0"><table>' in page
    assert "<dt>Term</dt>" in page and "<dd>Definition</dd>" in page
    assert re.search(r'<img src="assets/img/c.svg\?v=[0-9a-f]{10}" alt="Two cones" loading="lazy"', page)


def test_typography(article, build):
    folder = article({"00-a.md": '# A\n\n"Quoted" -- and...\n'})
    _, page = build(folder)
    assert "\u201cQuoted\u201d \u2013 and\u2026" in page


def _vectors_only_export(export_dir: Path, tmp_path: Path, model: str) -> Path:
    """The synthetic export with one model declaring precomputed vectors only, as a recovered one does."""
    data = tmp_path / "vectors-only"
    shutil.copytree(export_dir, data)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    entry = next(m for m in manifest["models"] if m["name"] == model)
    entry["capabilities"] = {
        "encode_images": False,
        "encode_texts": False,
        "precomputed_vectors": True,
        "training_dynamics": False,
        "closed_vocabulary": False,
    }
    (data / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return data


def test_models_without_encoders_are_flagged_where_a_query_is_expected(article, build, export_dir, tmp_path):
    data = _vectors_only_export(export_dir, tmp_path, "pocket:infonce")
    folder = article(
        {
            "00-a.md": "# A\n\n::: figure retrieval\ndataset: samples\nmodel: pocket:infonce\nalt: Lists.\n:::\n\n"
            "::: figure landscape\ndataset: samples\nmodel: pocket:infonce\nalt: Loss.\n:::\n"
        }
    )
    _, page = build(folder, data)
    retrieval = page[page.index('id="fig-retrieval-1"') : page.index('id="fig-landscape-2"')]
    assert "Vectors only: InfoNCE (pocket) was recovered from published similarities" in retrieval
    assert "no zero-shot classification and no new query" in retrieval
    assert page.count("Vectors only:") == 1  # the landscape has no queries to miss


def test_zeroshot_figure_refuses_a_model_without_a_text_encoder(article, build, export_dir, tmp_path):
    data = _vectors_only_export(export_dir, tmp_path, "pocket:infonce")
    folder = article({"00-a.md": "# A\n\n::: figure zeroshot\ndataset: samples\nmodel: pocket:infonce\nalt: Z.\n:::\n"})
    with pytest.raises(BuildError, match=r"needs a text encoder, and pocket:infonce declares none"):
        build(folder, data)


def test_interval_refs_write_both_ends_and_compare_one(article, build, export_dir):
    result = next(
        r
        for r in json.loads((export_dir / "manifest.json").read_text(encoding="utf-8"))["results"]
        if r["model"] == "pocket:infonce" and r["dataset"] == "shapes"
    )
    low, high = result["statistics"]["intervals"]["recall_i2t"]["r1"]
    c_low, c_high = result["statistics"]["closed_intervals"]["centroid_distance"]
    folder = article(
        {
            "00-a.md": "# A\n\nR@1 {{ interval pocket:infonce shapes recall_i2t.r1 | pct:1 }}; "
            "closed {{ interval pocket:infonce shapes closed.centroid_distance | fixed:3 }}; "
            "low {{ interval pocket:infonce shapes recall_i2t.r1.0 | fixed:4 }}.\n\n"
            "::: if interval pocket:infonce shapes recall_i2t.r1.1 >= interval pocket:infonce shapes recall_i2t.r1.0\n"
            "Ordered.\n:::\n"
        }
    )
    _, page = build(folder)
    shown = [unescape(t) for t in re.findall(r'<data class="data-ref"[^>]*>([^<]*)</data>', page)]
    assert shown == [
        f"{low * 100:.1f}%\u2013{high * 100:.1f}%",
        f"{c_low:.3f}\u2013{c_high:.3f}",
        f"{low:.4f}",
    ]
    assert "Ordered." in page
    folder = article({"00-a.md": "# A\n\n::: if interval pocket:infonce shapes recall_i2t.r1 > 0\nx\n:::\n"})
    with pytest.raises(BuildError, match=r"is an interval \(two numbers\); compare one end: .*recall_i2t\.r1\.0"):
        build(folder)
