"""The BibTeX reader, reference formatting and the article's own entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitebuild.bibtex import (
    article_bibtex,
    article_citation_text,
    format_author_list,
    format_entry_text,
    latex_to_text,
    load_bibliography,
)
from sitebuild.errors import BuildError
from sitebuild.sources import Author, FrontMatter


def _load(tmp_path: Path, text: str):
    path = tmp_path / "references.bib"
    path.write_text(text, encoding="utf-8")
    return load_bibliography(path)


def test_reads_entries_macros_concatenation_and_line_numbers(tmp_path):
    bib = _load(
        tmp_path,
        '% a comment line\n@string{ nips = "NeurIPS" }\n@comment{ ignored @article{no, title={x}} }\n\n'
        '@InProceedings{a2020,\n  author = "Doe, Jane and John {van Dyke}",\n  title = {The {CLIP} Model},\n'
        '  booktitle = nips # " 2020",\n  year = 2020, month = jan,\n}\n'
        "@misc(b, title = {Parens})\n",
    )
    assert list(bib.entries) == ["a2020", "b"]
    entry = bib.entries["a2020"]
    assert entry.type == "inproceedings" and entry.line == 5
    assert entry.get("booktitle") == "NeurIPS 2020" and entry.get("month") == "1"
    assert entry.get("title") == "The CLIP Model"
    assert format_author_list(entry.fields["author"]) == "J. Doe and J. van Dyke"
    assert bib.entries["b"].get("title") == "Parens"


def test_latex_accents_and_symbols():
    assert (
        latex_to_text(r"G{\"o}ttingen, M\"uller, Fran\c{c}ois, \'{E}cole, Ca\~na")
        == "Göttingen, Müller, François, École, Caña"
    )
    assert latex_to_text(r"R\&D 50\% pages 1--2 --- A~B") == "R&D 50% pages 1\u20132 \u2014 A\u00a0B"


def test_author_lists():
    many = " and ".join(f"Author{i}, A." for i in range(8))
    assert format_author_list(many) == "A. Author0, A. Author1, A. Author2 et al."
    assert (
        format_author_list("Liang, Weixin and Zou, James and Kwon, Yongchan")
        == "W. Liang, J. Zou and Y. Kwon"
    )
    assert format_author_list("{OpenAI}") == "OpenAI"
    assert format_author_list("Jean-Paul Sartre") == "J.-P. Sartre"
    assert format_author_list("Ludwig van Beethoven") == "L. van Beethoven"


def test_formatted_entry(tmp_path):
    bib = _load(
        tmp_path,
        "@article{k, author={Radford, Alec}, title={CLIP}, journal={JMLR}, volume={3}, number={2}, pages={1--9}, "
        "year={2021}, doi={10.1/abc}}\n@misc{arx, title={Pre}, eprint={2203.02053}, archivePrefix={arXiv}}\n",
    )
    assert (
        format_entry_text(bib.entries["k"])
        == "A. Radford. CLIP. JMLR, 3(2), pp. 1\u20139, 2021. doi.org/10.1/abc"
    )
    assert format_entry_text(bib.entries["arx"]) == "Pre. arXiv:2203.02053. arxiv.org/abs/2203.02053"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("@article{a, title={x}}\n@article{a, title={y}}\n", 2, "defined twice"),
        ("\n@article{a, title = undefinedmacro}\n", 2, "unknown BibTeX macro"),
        ("@article{a, title={x}, title={y}}\n", 1, "appears twice"),
        ("@article{a,\n title={x}\n year={1}}\n", 3, "expected ','"),
        ("@article{a,\n title={x\n", 2, "never closed"),
        ("@article{a,\n title={x}\n", 1, "never closed"),
    ],
)
def test_errors_name_the_line(tmp_path, text, line, message):
    with pytest.raises(BuildError) as info:
        _load(tmp_path, text)
    assert f"references.bib:{line}: " in str(info.value) and message in str(info.value)


def test_missing_file_is_an_empty_bibliography(tmp_path):
    assert load_bibliography(tmp_path / "none.bib").entries == {}


# -- the article's own entry (the page's "Cite" box) ----------------------------------------------------


def _front(**fields) -> FrontMatter:
    authors = [
        Author("Ada Lovelace"),
        Author("The Analytical Society", organisation=True),
        Author("Charles Xavier Babbage"),
    ]
    return FrontMatter(**{"title": "Mind the Gap", "authors": authors, "date": "2025-11-24", **fields})


def test_article_bibtex_derives_the_key_and_braces_organisations():
    assert article_bibtex(_front(journal="Distill", doi="10.1/gap", url="https://example.org")) == (
        "@article{lovelace2025mind,\n"
        "  author = {Lovelace, Ada and {The Analytical Society} and Babbage, Charles Xavier},\n"
        "  title = {Mind the Gap},\n  journal = {Distill},\n  year = {2025},\n"
        "  url = {https://example.org},\n  doi = {10.1/gap}\n}"
    )


def test_article_bibtex_without_a_journal_is_misc_and_keeps_a_given_key():
    entry = article_bibtex(_front(citation_key="gap2025", authors=[Author("Jean-Luc d'Éon")]))
    assert entry == "@misc{gap2025,\n  author = {d'Éon, Jean-Luc},\n  title = {Mind the Gap},\n  year = {2025}\n}"
    # Without a key: the last name's letters and digits only, lower case.
    assert article_bibtex(_front(authors=[Author("Jean-Luc d'Éon")])).startswith("@misc{déon2025mind,")
    assert article_bibtex(_front(authors=[])).startswith("@misc{anonymous2025mind,")
    assert article_bibtex(_front(authors=[Author("???")])).startswith("@misc{anonymous2025mind,")


def test_article_citation_text_names_initials_and_prefers_the_doi():
    assert article_citation_text(_front(journal="Distill", doi="10.1/gap", url="https://example.org")) == (
        "Lovelace, A., The Analytical Society and Babbage, C. X. (2025). Mind the Gap. Distill. "
        "https://doi.org/10.1/gap"
    )
    assert (
        article_citation_text(_front(date=None, authors=[Author("Ada Lovelace")], url="https://example.org"))
        == "Lovelace, A. (n.d.). Mind the Gap. https://example.org"
    )
