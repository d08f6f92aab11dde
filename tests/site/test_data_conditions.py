"""``::: if LEFT OP RIGHT`` / ``::: unless ...``: sections shown only when a data comparison holds.

The fake export (exporter/synthetic.py, write_site_export) fixes some values exactly: ``dataset shapes n`` and
``count pairs shapes`` are 10, ``dataset samples n`` is 6, ``count models`` is 3,
``model pocket:infonce embed_dim`` is 8, ``model pocket:siglip logit_bias`` is -10 and
``model pocket:infonce logit_scale`` is 1/0.07 = 14.29. Error cases live in test_build_errors.py.
"""

from __future__ import annotations

import re

import pytest

TEN = "dataset shapes n"
TEN_AGAIN = "count pairs shapes"
SIX = "dataset samples n"


def _sections(article, build, conditions: dict[str, str]) -> str:
    """Build one chapter with a section per condition, each holding its own marker word; the page."""
    text = "# A\n\n" + "".join(f"{cond}\n{word}\n:::\n\n" for word, cond in conditions.items())
    return build(article({"00-a.md": text}))[1]


@pytest.mark.parametrize(
    ("left", "op", "right", "holds"),
    [
        (TEN, ">", SIX, True),
        (SIX, ">", TEN, False),
        (TEN, ">", TEN_AGAIN, False),
        (SIX, "<", TEN, True),
        (TEN, "<", SIX, False),
        (TEN, "<", TEN_AGAIN, False),
        (TEN, ">=", TEN_AGAIN, True),
        (TEN, ">=", SIX, True),
        (SIX, ">=", TEN, False),
        (TEN, "<=", TEN_AGAIN, True),
        (SIX, "<=", TEN, True),
        (TEN, "<=", SIX, False),
    ],
)
def test_each_operator_and_unless_is_its_negation(article, build, left, op, right, holds):
    page = _sections(
        article,
        build,
        {"MARK-IF": f"::: if {left} {op} {right}", "MARK-UNLESS": f"::: unless {left} {op} {right}"},
    )
    assert ("MARK-IF" in page) is holds
    assert ("MARK-UNLESS" in page) is not holds


def test_number_literals(article, build):
    page = _sections(
        article,
        build,
        {
            "SHOW-1": "::: if 0.5 < 1",
            "HIDE-1": "::: if 2 <= 1.5",
            "SHOW-2": "::: if count models >= 3",
            "HIDE-2": "::: if count models > 3",
            "SHOW-3": "::: if model pocket:siglip logit_bias < -9.5",
            "HIDE-3": "::: if -10.5 > model pocket:siglip logit_bias",
            "SHOW-4": "::: if model pocket:infonce logit_scale > 1.4e1",
            "HIDE-4": "::: if model pocket:infonce logit_scale > +14.3",
            "SHOW-5": "::: unless .5 >= 1",
            "HIDE-5": "::: unless 8 <= model pocket:infonce embed_dim",
        },
    )
    for n in range(1, 6):
        assert f"SHOW-{n}" in page, n
        assert f"HIDE-{n}" not in page, n


def test_every_reference_kind_and_quoted_arguments(article, build):
    page = _sections(
        article,
        build,
        {
            "SHOW-METRIC": "::: if metric pocket:infonce samples centroid_distance > 0",
            "HIDE-METRIC": "::: if metric pocket:infonce samples centroid_distance < 0",
            "SHOW-DOTTED": "::: if metric pocket:infonce samples recall_t2i.r1 <= metric pocket:infonce samples recall_t2i.r5",
            "SHOW-QUOTED": '::: if metric pocket:infonce samples "zeroshot.a photo of a {}." <= 1',
            "HIDE-QUOTED": "::: unless metric pocket:infonce samples 'zeroshot.a photo of a {}.' >= 0",
            "SHOW-MODEL": "::: if model pocket:infonce embed_dim >= 8",
            "SHOW-DATASET": f"::: if {TEN} > {SIX}",
            "SHOW-COUNT": "::: if count classes samples < count models samples",
            "SHOW-RESULT": "::: if result pocket:infonce shapes gap gap_vector_norm >= 0",
            "SHOW-TRAINING": "::: if training pocket:infonce curve.loss.-1 > 0",
            "SHOW-MANIFEST": "::: if manifest seed >= 31415",
            "HIDE-MANIFEST": "::: if manifest seed > 31415",
        },
    )
    shown = set(re.findall(r"\b(?:SHOW|HIDE)-[A-Z]+\b", page))
    assert shown == {
        "SHOW-METRIC",
        "SHOW-DOTTED",
        "SHOW-QUOTED",
        "SHOW-MODEL",
        "SHOW-DATASET",
        "SHOW-COUNT",
        "SHOW-RESULT",
        "SHOW-TRAINING",
        "SHOW-MANIFEST",
    }


def test_real_pocket_style_comparison_matches_the_numbers(article, build, export_dir):
    """The example from SYNTAX.md: exactly one of if/unless shows, the one the numbers say."""
    import json

    manifest = json.loads((export_dir / "manifest.json").read_text())
    metrics = {(r["model"], r["dataset"]): r["metrics"] for r in manifest["results"]}
    a = metrics[("pocket:infonce", "shapes")]["centroid_distance"]
    b = metrics[("pocket:siglip", "shapes")]["centroid_distance"]
    left = "metric pocket:infonce shapes centroid_distance"
    right = "metric pocket:siglip shapes centroid_distance"
    page = _sections(
        article, build, {"BIGGER": f"::: if {left} > {right}", "NOT-BIGGER": f"::: unless {left} > {right}"}
    )
    assert ("BIGGER" in page.replace("NOT-BIGGER", "")) is (a > b)
    assert ("NOT-BIGGER" in page) is not (a > b)


FIGURE = """\
::: figure heatmap {{#{id}}}
dataset: samples
model: pocket:infonce
alt: A matrix.

Caption {id}.
:::
"""


def test_figures_and_directives_nest_and_only_shown_figures_are_numbered(article, build):
    text = (
        "# A\n\n"
        + FIGURE.format(id="fig-first")
        + "\n::: if count models > 100\n\nHIDDEN-TEXT {{ metric nobody nowhere nothing }} @fig-nothing\n\n"
        + FIGURE.format(id="fig-dropped").replace("pocket:infonce", "open_clip:none")
        + "\n::: if 1 < 2\nHIDDEN-INNER\n:::\n:::\n\n"
        + "::: if count models >= 3\n\nSHOWN-TEXT\n\n"
        + FIGURE.format(id="fig-kept")
        + "\n::: if-model pocket:infonce\nSHOWN-INNER-MODEL\n:::\n\n"
        + "::: unless-model pocket:infonce\nHIDDEN-INNER-MODEL\n:::\n\n"
        + "::: note\n::: unless 1 > 2\nSHOWN-IN-NOTE\n:::\n:::\n:::\n\n"
        + "::: if-model pocket:infonce\n::: if 1 > 2\nHIDDEN-IN-MODEL\n:::\n:::\n\n"
        + "See @fig-first and @fig-kept.\n"
    )
    report, page = build(article({"00-a.md": text}))
    assert report.figures == 2
    assert 'id="fig-first"' in page and 'id="fig-kept"' in page and "fig-dropped" not in page
    assert re.search(r'href="#fig-first">Figure 1<', page)
    assert re.search(r'href="#fig-kept">Figure 2<', page)
    for word in ("SHOWN-TEXT", "SHOWN-INNER-MODEL", "SHOWN-IN-NOTE", "Caption fig-kept"):
        assert word in page, word
    assert "HIDDEN" not in page
    assert '<div class="note">' in page


def test_false_branch_is_not_parsed(article, build):
    """Like a dropped if-model section: nothing inside is resolved, so it may name missing data."""
    text = (
        "# A\n\n::: unless count models > 0\n"
        "{{ metric open_clip:none coco nothing }} [@nokey] $\\nosuchcmd$\n\n"
        "::: figure histogram {#fig-x}\nalt: never\n:::\n:::\n\nAFTER\n"
    )
    report, page = build(article({"00-a.md": text}))
    assert "AFTER" in page and "nokey" not in page and report.figures == 0
