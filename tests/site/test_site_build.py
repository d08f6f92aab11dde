"""Whole-site build of the fixture article: output layout, clean HTML, every link resolves."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib
import pytest

from sitebuild import BuildError, build_site
from sitebuild.build import MARKER

REPO = Path(__file__).resolve().parents[2]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.configs: list[dict] = []
        self.import_map = ""
        self._in_map = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.urls.append(attrs[key])
        if attrs.get("data-config"):
            self.configs.append(json.loads(attrs["data-config"]))
        self._in_map = tag == "script" and attrs.get("type") == "importmap"

    def handle_data(self, data):
        if self._in_map:
            self.import_map += data

    def handle_endtag(self, tag):
        self._in_map = False


def _parse(out: Path) -> _Links:
    parser = _Links()
    parser.feed((out / "index.html").read_text(encoding="utf-8"))
    return parser


def _resolve(out: Path, url: str) -> Path:
    return out / unquote(urlsplit(url).path)


def test_report_counts(built_site):
    report, out = built_site
    assert report.pages == ["index.html"]
    assert report.figures == 9
    assert report.citations == 2  # liang2022 and radford2021; unused2020 is not listed
    assert report.footnotes == 1
    assert report.data_files == sum(1 for p in (out / "data").rglob("*") if p.is_file()) > 20
    assert (out / MARKER).is_file() and (out / ".nojekyll").is_file()


def test_html_parses_cleanly(built_site):
    _, out = built_site
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document = parser.parse((out / "index.html").read_text(encoding="utf-8"))
    assert document.find(".//main") is not None
    assert len(document.findall(".//h1")) == 1


def test_every_relative_link_and_asset_resolves(built_site):
    _, out = built_site
    links = _parse(out)
    checked = 0
    for url in links.urls:
        parts = urlsplit(url)
        if parts.scheme or url.startswith("//"):
            assert parts.scheme in ("https", "http", "mailto"), url
            continue
        assert not url.startswith("/"), f"absolute path {url} breaks under a sub-path"
        if parts.path:
            assert _resolve(out, url).is_file(), f"{url} does not exist in _site"
            checked += 1
        if parts.fragment:
            assert parts.fragment in links.ids, f"#{parts.fragment} has no target"
    assert checked > 30
    # Import map targets (ES modules) and each figure's data URLs resolve too.
    for source, target in json.loads(links.import_map)["imports"].items():
        assert _resolve(out, source).is_file() and _resolve(out, target).is_file()
    for config in links.configs:
        assert _resolve(out, config["manifest"]).is_file()
        assert (out / config["base"] / "manifest.json").is_file()


def test_assets_are_cache_busted_with_content_hashes(built_site):
    _, out = built_site
    links = _parse(out)
    local = [u for u in links.urls if not urlsplit(u).scheme and urlsplit(u).path]
    for url in local:
        assert re.search(r"\?v=[0-9a-f]{10}$", url), url
    css = next(u for u in local if u.startswith("static/css/article.css"))
    import hashlib

    digest = hashlib.sha256((out / "static/css/article.css").read_bytes()).hexdigest()[:10]
    assert css.endswith(digest)
    imports = json.loads(links.import_map)["imports"]
    assert "./static/js/main.js" in imports and re.search(
        r"\?v=[0-9a-f]{10}$", imports["./static/js/main.js"]
    )


def test_plotly_is_the_vendored_partial_bundle_loaded_lazily(built_site):
    from sitebuild.vendor_plotly import BUNDLE, VENDOR_DIR, off_host_urls

    _, out = built_site
    shipped = (out / "static/vendor" / BUNDLE).read_bytes()
    assert shipped == (VENDOR_DIR / BUNDLE).read_bytes()
    assert (out / "static/vendor/plotly-basic.LICENSE.txt").is_file()
    assert off_host_urls(shipped.decode("utf-8")) == []
    page = (out / "index.html").read_text()
    # No script tag: plot.js imports the bundle when a chart first draws, through the import map.
    assert not re.search(r"<script[^>]*src=\"[^\"]*plotly", page)
    imports = json.loads(_parse(out).import_map)["imports"]
    assert re.search(r"\?v=[0-9a-f]{10}$", imports[f"./static/vendor/{BUNDLE}"])


def test_data_folder_is_copied(built_site, export_dir):
    _, out = built_site
    for path in export_dir.rglob("*"):
        if path.is_file():
            rel = path.relative_to(export_dir)
            assert (out / "data" / rel).read_bytes() == path.read_bytes()


def test_figure_configs_follow_the_contract(built_site):
    _, out = built_site
    configs = {c["id"]: c for c in _parse(out).configs}
    assert set(configs) == {
        "fig-heat",
        "fig-scatter",
        "fig-explorer",
        "fig-compare",
        "fig-landscape",
        "fig-metrics",
        "fig-retrieval",
        "fig-training",
        "fig-zeroshot",
    }
    heat = configs["fig-heat"]
    assert set(heat) == {"kind", "id", "dataset", "models", "options", "manifest", "base", "version"}
    assert heat["options"] == {"quadrant": "image-text", "sort": "clusters"}
    assert heat["models"] == ["pocket:infonce"] and heat["dataset"] == "samples"
    assert heat["base"] == "data/" and heat["manifest"].startswith("data/manifest.json")
    # Several-model kinds default to every model with results for the dataset.
    assert configs["fig-explorer"]["models"] == ["pocket:infonce", "pocket:siglip", "random:clip"]
    assert configs["fig-training"]["dataset"] == "shapes"
    versions = {c["version"] for c in configs.values()}
    assert len(versions) == 1 and re.fullmatch(r"[0-9a-f]{10}", versions.pop())


def test_data_version_changes_when_data_changes(tmp_path, export_dir):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(export_dir, data)
    article = REPO / "tests/site/fixtures/article"
    build_site(article, data, tmp_path / "a")
    first = _parse(tmp_path / "a").configs[0]["version"]
    items = data / "datasets/samples/items.json"
    text = items.read_text()
    assert "number 0" in text
    items.write_text(text.replace("number 0", "number zero"))
    build_site(article, data, tmp_path / "b")
    assert _parse(tmp_path / "b").configs[0]["version"] != first


def test_failed_build_keeps_the_previous_site(tmp_path, export_dir, article):
    out = tmp_path / "_site"
    good = article({"00-a.md": "# Hello\n\nFirst version.\n"})
    build_site(good, export_dir, out)
    before = (out / "index.html").read_text()
    (good / "00-a.md").write_text((good / "00-a.md").read_text() + "\n[@nobody]\n")
    with pytest.raises(BuildError):
        build_site(good, export_dir, out)
    assert (out / "index.html").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("._site")], "temporary folders left behind"


def test_refuses_to_replace_a_folder_it_did_not_build(tmp_path, export_dir, article):
    folder = article({"00-a.md": "# Hello\n"})
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(BuildError, match="was not made by the site build"):
        build_site(folder, export_dir, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    with pytest.raises(BuildError, match="would replace"):
        build_site(folder, export_dir, folder)


def test_article_without_data_builds_without_figures(tmp_path, article, build):
    folder = article({"00-a.md": "# Only prose\n\nNo figures here.\n"})
    report, page = build(folder, data=tmp_path / "no-data")
    assert report.figures == 0 and report.data_files == 0
    assert not re.search(r"<script[^>]*src=\"[^\"]*plotly", page)  # plotly loads only with a chart
    assert not (tmp_path / "_site" / "data").exists()


def test_cli_builds_and_never_imports_torch(tmp_path, export_dir):
    out = tmp_path / "site-out"
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['sitebuild', '--article', {str(REPO / 'tests/site/fixtures/article')!r}, "
        f"'--data', {str(export_dir)!r}, '--out', {str(out)!r}]\n"
        "try:\n"
        "    runpy.run_module('sitebuild', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = [m for m in ('torch', 'open_clip', 'torchvision', 'sklearn', 'umap') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert "built" in result.stdout and (out / "index.html").is_file()


def test_long_data_link_lists_are_folded(built_site):
    _, out = built_site
    page = (out / "index.html").read_text(encoding="utf-8")

    def figure(fig_id: str) -> str:
        start = page.index(f'id="{fig_id}"')
        return page[start : page.index("</figure>", start)]

    explorer, heatmap = figure("fig-explorer"), figure("fig-heat")
    assert explorer.count("<li><a ") > 6 and "<details>" in explorer
    assert re.search(r"Download the data \(\d+ files\)</summary>", explorer)
    assert heatmap.count("<li><a ") <= 6 and "<details>" not in heatmap
