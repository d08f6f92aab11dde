"""Every author error fails the build with ONE line naming file:line, and a non-zero exit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sitebuild.cli import main

REPO = Path(__file__).resolve().parents[2]
FIG = (
    "::: figure heatmap {#fig-a}\ndataset: samples\nmodel: pocket:infonce\nalt: A matrix.\n\nCaption.\n:::\n"
)


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def _fail(folder: Path, data: Path, tmp_path: Path, capsys) -> str:
    code = main(["--article", str(folder), "--data", str(data), "--out", str(tmp_path / "_site")])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert not (tmp_path / "_site").exists()
    return lines[0]


CASES = {
    "table cell splits a data reference": (
        "# A\n\n| a | b |\n|---|---|\n| x | {{ model pocket:infonce temperature | sig:2 }} |\n",
        "| x |",
        "inside a table cell write the format as '\\| fixed:2'",
    ),
    "unknown figure kind": (
        "# A\n\n::: figure histogram {#fig-h}\nalt: x\n:::\n",
        "::: figure",
        "unknown figure kind 'histogram'",
    ),
    "missing alt": (
        "# A\n\n::: figure heatmap {#fig-h}\ndataset: samples\nmodel: pocket:infonce\n\nNo alt.\n:::\n",
        "::: figure",
        "figure 'fig-h' has no alt text; add 'alt:",
    ),
    "unknown citation": (
        "# A\n\nText.\n\nMore [@nobody2020] text.\n",
        "nobody2020",
        "unknown citation key 'nobody2020'",
    ),
    "unknown metric": (
        "# A\n\nGap {{ metric pocket:infonce samples centroid_distnce }}.\n",
        "centroid_distnce",
        "has no 'centroid_distnce'",
    ),
    "unknown model in data ref": (
        "# A\n\n{{ model pocket:nothing label }}\n",
        "pocket:nothing",
        "unknown model 'pocket:nothing'",
    ),
    "unknown dataset in data ref": ("# A\n\n{{ count pairs coco }}\n", "coco", "unknown dataset 'coco'"),
    "unknown data ref kind": (
        "# A\n\n{{ gap pocket:infonce }}\n",
        "{{ gap",
        "unknown data reference kind 'gap'",
    ),
    "unknown number format": (
        "# A\n\n{{ count models | percent }}\n",
        "percent",
        "unknown number format 'percent'",
    ),
    "group instead of value": (
        "# A\n\n{{ metric pocket:infonce samples recall_t2i }}\n",
        "recall_t2i",
        "points at a group",
    ),
    "list index out of range": (
        "# A\n\n{{ training pocket:infonce curve.loss.99 }}\n",
        "curve.loss",
        "is a list of 11",
    ),
    "unknown model in figure": (
        "# A\n\n" + FIG.replace("pocket:infonce", "pocket:nope"),
        "pocket:nope",
        "unknown model 'pocket:nope'",
    ),
    "unknown dataset in figure": (
        "# A\n\n" + FIG.replace("samples", "coco"),
        "dataset: coco",
        "unknown dataset 'coco'",
    ),
    "zeroshot without labels": (
        "# A\n\n::: figure zeroshot\ndataset: shapes\nmodel: pocket:infonce\nalt: x\n:::\n",
        "::: figure",
        "no 'zeroshot' result file",
    ),
    "training without record": (
        "# A\n\n::: figure training\nmodel: random:clip\nalt: x\n:::\n",
        "::: figure",
        "has no training record",
    ),
    "two models in one-model kind": (
        "# A\n\n" + FIG.replace("model: pocket:infonce", "models: pocket:infonce, pocket:siglip"),
        "::: figure",
        "shows one model but lists 2",
    ),
    "model without results": ("# A\n\n" + FIG, "::: figure", None),  # replaced below with a trimmed manifest
    "unknown figure field": (
        "# A\n\n::: figure heatmap\ndatset: samples\nalt: x\n:::\n",
        "datset",
        "unknown figure field 'datset'",
    ),
    "bad options": (
        "# A\n\n" + FIG.replace("alt:", "options: quadrant\nalt:"),
        "options:",
        "is not 'name=value'",
    ),
    "duplicate figure id": (
        "# A\n\n" + FIG + "\n" + FIG.replace("heatmap {#fig-a}", "heatmap {#fig-a} "),
        "{#fig-a} ",
        None,
    ),
    "unknown cross reference": (
        "# A\n\nSee @fig-nothing here.\n",
        "@fig-nothing",
        "cross-reference @fig-nothing points at nothing",
    ),
    "empty link to nothing": ("# A\n\nSee [](#fig-nothing).\n", "fig-nothing", "points at nothing"),
    "unknown directive": ("# A\n\n::: warning\nx\n:::\n", "::: warning", "unknown directive '::: warning'"),
    "unclosed directive": ("# A\n\n::: note\nnever closed\n", "::: note", "'::: note' is never closed"),
    "bad math": ("# A\n\nThe sum $\\frac{a$ here.\n", "frac", "unbalanced braces in math"),
    "unknown math command": (
        "# A\n\nThe $\\nosuchcmd x$ here.\n",
        "nosuchcmd",
        "unknown command \\nosuchcmd",
    ),
    "math syntax": ("# A\n\nThe $a^$ here.\n", "a^", "cannot render math"),
    "missing image": ("# A\n\n![A plot](plots/none.png)\n", "none.png", "image 'plots/none.png' not found"),
    "image without alt": ("# A\n\n![](cones.svg)\n", "cones.svg", "has no alt text"),
    # '::: if LEFT OP RIGHT' / '::: unless ...' data comparisons
    "comparison with unknown model": (
        "# A\n\nText.\n\n::: if metric pocket:nope shapes centroid_distance > 0.5\nx\n:::\n",
        "pocket:nope",
        "unknown model 'pocket:nope'",
    ),
    "comparison with unknown metric": (
        "# A\n\n::: unless 0.5 < metric pocket:infonce shapes centroid_distnce\nx\n:::\n",
        "centroid_distnce",
        "has no 'centroid_distnce'",
    ),
    "comparison with unknown quoted key": (
        '# A\n\n::: if metric pocket:infonce samples "zeroshot.a drawing of a {}." > 0\nx\n:::\n',
        "a drawing",
        "has no 'zeroshot.a drawing of a {}'",
    ),
    "comparison with missing result": (
        "# A\n\n::: if result pocket:infonce shapes zeroshot runs.0.accuracy > 0\nx\n:::\n",
        "runs.0",
        "has no 'zeroshot' result file",
    ),
    "comparison with unknown reference kind": (
        "# A\n\n::: if gap pocket:infonce > 0\nx\n:::\n",
        "::: if gap",
        "unknown data reference kind 'gap'",
    ),
    "comparison with text value": (
        "# A\n\n::: if model pocket:infonce label > 1\nx\n:::\n",
        "label",
        "data reference 'model pocket:infonce label' is text ('InfoNCE (pocket)'), not a number",
    ),
    "comparison with yes/no value": (
        "# A\n\n::: unless dataset samples has_labels >= 1\nx\n:::\n",
        "has_labels",
        "is yes/no (True), not a number",
    ),
    "comparison with a group": (
        "# A\n\n::: if metric pocket:infonce samples recall_t2i > 0\nx\n:::\n",
        "recall_t2i",
        "points at a group",
    ),
    "comparison with format": (
        "# A\n\n::: if count models | int > 1\nx\n:::\n",
        "| int",
        "drop '| int'",
    ),
    "comparison without operator": (
        "# A\n\n::: if metric pocket:infonce shapes centroid_distance\nx\n:::\n",
        "::: if",
        "compares nothing; write it as '::: if metric MODEL DATASET NAME > 0.5'",
    ),
    "comparison without spaces": (
        "# A\n\n::: unless count models>1\nx\n:::\n",
        "::: unless",
        "'::: unless count models>1' compares nothing",
    ),
    "comparison with empty condition": ("# A\n\n::: if\nx\n:::\n", "::: if", "'::: if' compares nothing"),
    "comparison with unknown operator": (
        "# A\n\n::: if count models == 3\nx\n:::\n",
        "==",
        "unknown comparison operator '==' in '::: if count models == 3'; use one of >, <, >=, <=",
    ),
    "comparison with two operators": (
        "# A\n\n::: if 1 < count models < 5\nx\n:::\n",
        "::: if",
        "has 2 comparison operators; compare two values per section",
    ),
    "comparison with quoted operator as a key": (
        '# A\n\n::: if metric pocket:infonce samples ">" > 0\nx\n:::\n',
        "::: if",
        "has no '>'",
    ),
    "comparison without right side": (
        "# A\n\n::: if count models >=\nx\n:::\n",
        "::: if",
        "has nothing on the right of '>='",
    ),
    "comparison without left side": (
        "# A\n\n::: unless < 3\nx\n:::\n",
        "::: unless",
        "nothing on the left of '<'",
    ),
    "comparison with unclosed quote": (
        '# A\n\n::: if metric pocket:infonce samples "zeroshot.{} > 0\nx\n:::\n',
        "::: if",
        "No closing quotation; close the quotes",
    ),
    "unclosed comparison section": (
        "# A\n\n::: if 1 < 2\nnever closed\n",
        "::: if",
        "'::: if' is never closed",
    ),
    "error inside a true comparison": (
        "# A\n\n::: if 1 < 2\n\n{{ metric pocket:infonce samples centroid_distnce }}\n:::\n",
        "centroid_distnce",
        "has no 'centroid_distnce'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_chapter_errors(case, article, export_dir, tmp_path, capsys):
    text, needle, message = CASES[case]
    data = export_dir
    if case == "model without results":
        import json

        data = tmp_path / "data"
        shutil.copytree(export_dir, data)
        manifest = json.loads((data / "manifest.json").read_text())
        manifest["results"] = [r for r in manifest["results"] if r["model"] != "pocket:infonce"]
        (data / "manifest.json").write_text(json.dumps(manifest))
        message = "model 'pocket:infonce' has no results for dataset 'samples'"
    if case == "duplicate figure id":
        message = "id 'fig-a' is used twice"
    folder = article({"00-a.md": text})
    (folder / "cones.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    line = _fail(folder, data, tmp_path, capsys)
    expected = _line_of(folder / "00-a.md", needle)
    assert f"00-a.md:{expected}: " in line, line
    assert message in line, line


def test_missing_data_file(article, export_dir, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(export_dir, data)
    (data / "results/pocket-infonce/samples/similarity.json").unlink()
    folder = article({"00-a.md": "# A\n\nIntro.\n\n" + FIG})
    line = _fail(folder, data, tmp_path, capsys)
    assert f"00-a.md:{_line_of(folder / '00-a.md', '::: figure')}: " in line
    assert "similarity.json is missing; re-run the export" in line


def test_figure_without_any_export(article, tmp_path, capsys):
    folder = article({"00-a.md": "# A\n\n" + FIG})
    line = _fail(folder, tmp_path / "nothing", tmp_path, capsys)
    assert (
        f"00-a.md:{_line_of(folder / '00-a.md', '::: figure')}: " in line
        and "manifest.json does not exist" in line
    )


def test_error_in_second_chapter_names_that_file(article, export_dir, tmp_path, capsys):
    folder = article({"00-a.md": "# A\n\nFine.\n", "01-b.md": "# B\n\nline 3\n\n[@missing]\n"})
    line = _fail(folder, export_dir, tmp_path, capsys)
    assert "01-b.md:5: " in line


@pytest.mark.parametrize(
    ("front", "line", "message"),
    [
        ("---\ntitle: A\nauthors:\n  - name: X\n   affiliation: bad indent\n---\n", 5, "bad front matter"),
        ("---\ntitle: A\ntitel: typo\n---\n", 3, "unknown front matter key 'titel'"),
        ("---\nsubtitle: no title\n---\n", 1, "front matter has no 'title'"),
        ("---\ntitle: A\ndate: yesterday\n---\n", 3, "is not a date"),
        ("---\ntitle: A\ndate: 2026-13-45\n---\n", 3, "is not a date"),
        ('+++\ntitle = "A"\ndate = "2026-02-30"\n+++\n', 3, "is not a date"),
        ("---\ntitle: A\nauthors:\n  - affiliation: X\n---\n", 3, "each author needs a 'name'"),
        ("---\ntitle: A\n", 1, "is never closed"),
        ('+++\ntitle = "A"\nauthors = [\n+++\n', 4, "bad front matter (TOML)"),
        ("# No front matter\n", 1, "the article has no front matter"),
    ],
)
def test_bad_front_matter(front, line, message, article, export_dir, tmp_path, capsys):
    folder = article({"00-a.md": front + "\n# Body\n"}, front=False)
    error = _fail(folder, export_dir, tmp_path, capsys)
    assert f"00-a.md:{line}: " in error and message in error, error


def test_front_matter_only_in_first_chapter(article, export_dir, tmp_path, capsys):
    folder = article({"00-a.md": "# A\n", "01-b.md": "---\ntitle: B\n---\n# B\n"})
    error = _fail(folder, export_dir, tmp_path, capsys)
    assert "01-b.md:1: " in error and "only read from the first chapter" in error


def test_bad_bibtex_names_its_line(article, export_dir, tmp_path, capsys):
    bib = "@article{good, title = {Fine}, year = 2020}\n\n@article{bad,\n  title = {Unclosed,\n  year = 2021\n}\n"
    folder = article({"00-a.md": "# A\n\n[@good]\n"}, bib=bib)
    error = _fail(folder, export_dir, tmp_path, capsys)
    assert "references.bib:3: " in error and "never closed" in error


def test_missing_article_folder(tmp_path, export_dir, capsys):
    error = _fail(tmp_path / "nope", export_dir, tmp_path, capsys)
    assert "does not exist" in error


def test_cli_exit_code_and_debug_traceback(article, export_dir, tmp_path):
    folder = article({"00-a.md": "# A\n\n[@nobody]\n"})
    cmd = [
        sys.executable,
        "-m",
        "sitebuild",
        "--article",
        str(folder),
        "--data",
        str(export_dir),
        "--out",
        str(tmp_path / "out"),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "00-a.md:10: unknown citation key 'nobody'" in result.stderr
    debug = subprocess.run([*cmd, "--debug"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_export_in_an_older_data_format_is_one_line(article, export_dir, tmp_path, capsys):
    import json

    data = tmp_path / "data"
    shutil.copytree(export_dir, data)
    manifest = json.loads((data / "manifest.json").read_text())
    manifest["schema_version"] = 1
    (data / "manifest.json").write_text(json.dumps(manifest))
    folder = article({"00-a.md": "# A\n\n" + FIG})
    line = _fail(folder, data, tmp_path, capsys)
    assert "manifest.json" in line and "schema_version 1" in line and "re-run the export" in line
