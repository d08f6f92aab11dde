"""The built page in headless Chromium, served from a sub-path: main.js hydration, theme toggle, tips.

Figure modules are stand-ins written by the test (the real ones are tested in tests/browser), so
this checks the page's own contract: main.js imports static/js/figures/<kind>.js through the
import map (hashed URLs), calls render(mount, config), and shows a visible error when that fails.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from headless.chromium import CHROMIUM
from headless.server import serve
from sitebuild import build_site
from sitebuild.build import SITE_DIR

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

STAND_IN = """
export async function render(mount, config) {
  const p = document.createElement("p");
  p.className = "stand-in";
  p.textContent = `rendered ${config.kind} ${config.id} ${config.models.join(",")}`;
  mount.append(p);
  const manifest = await fetch(new URL(config.manifest, document.baseURI)).then((r) => r.json());
  mount.dataset.datasets = String(manifest.datasets.length);
}
"""
FAILING = 'export async function render() { throw new Error("stand-in failure"); }\n'

ARTICLE = """---
title: Browser test
authors: [Ada Lovelace]
---
# One

Claim.[^a] Cited [@k].

[^a]: The footnote text.

::: figure heatmap {#fig-h}
dataset: samples
model: pocket:infonce
alt: A matrix.

Heatmap.
:::

::: figure scatter {#fig-s}
dataset: samples
model: pocket:infonce
alt: Points.

Scatter.
:::

::: figure metrics {#fig-m}
alt: Table.

Metrics (no module for this kind in the stand-in site).
:::
"""


@pytest.fixture(scope="module")
def built_root(tmp_path_factory, export_dir):
    """The folder served as the host root; the page is under repo/."""
    tmp = tmp_path_factory.mktemp("browser-site")
    site = tmp / "site"
    shutil.copytree(SITE_DIR / "templates", site / "templates")
    (site / "static/js/figures").mkdir(parents=True)
    shutil.copytree(SITE_DIR / "static/css", site / "static/css")
    shutil.copy(SITE_DIR / "static/favicon.svg", site / "static/favicon.svg")
    for name in ("main.js", "theme-toggle.js", "file-notice.js"):
        shutil.copy(SITE_DIR / "static/js" / name, site / "static/js" / name)
    (site / "static/js/figures/heatmap.js").write_text(STAND_IN)
    (site / "static/js/figures/scatter.js").write_text(FAILING)
    article = tmp / "article"
    article.mkdir()
    (article / "index.md").write_text(ARTICLE)
    (article / "references.bib").write_text("@misc{k, title={A Reference}, author={Doe, Jane}, year=2020}\n")
    root = tmp / "served"
    build_site(article, export_dir, root / "repo", site_dir=site)
    return root


@pytest.fixture(scope="module")
def page_url(built_root):
    root = built_root
    with serve(root) as url:
        yield f"{url}repo/"


def test_main_js_hydrates_figures_and_reports_failures(browser, page_url):
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_url)
    page.wait_for_selector("#fig-h .stand-in")
    assert page.text_content("#fig-h .stand-in") == "rendered heatmap fig-h pocket:infonce"
    assert page.get_attribute("#fig-h .figure-mount", "data-datasets") == "2"
    page.wait_for_selector("#fig-s .figure-error")
    assert "stand-in failure" in page.text_content("#fig-s .figure-error")
    page.wait_for_selector("#fig-m .figure-error")
    assert "could not be shown" in page.text_content("#fig-m .figure-error")
    assert page.get_attribute("#fig-h .figure-mount", "data-state") == "ready"
    assert errors == []
    module = next(u for u in requests if "/figures/heatmap.js" in u)
    assert module.startswith(page_url) and "?v=" in module  # sub-path + import-map cache-busting
    page.close()


def test_theme_toggle_persists_and_announces(browser, page_url):
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(page_url)
    page.evaluate("window.changes = 0; document.addEventListener('themechange', () => window.changes++)")
    button = page.locator(".theme-toggle")
    assert button.is_visible() and button.get_attribute("aria-pressed") == "false"
    light_bg = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--color-bg').trim()"
    )
    button.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("window.changes") == 1
    dark_bg = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--color-bg').trim()"
    )
    assert light_bg != dark_bg
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.locator(".theme-toggle").get_attribute("aria-pressed") == "true"
    context.close()


def test_system_dark_theme_is_followed(browser, page_url):
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(page_url)
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(18, 20, 23)"
    assert page.locator(".theme-toggle").get_attribute("aria-pressed") == "true"
    context.close()


def test_tips_show_on_keyboard_focus_and_close_on_escape(browser, page_url):
    page = browser.new_page()
    page.goto(page_url)
    tip = page.locator("#fnref1 >> xpath=../../span[contains(@class, 'tip')]")
    assert not tip.is_visible()
    page.focus("#fnref1")
    assert tip.is_visible() and "The footnote text." in tip.text_content()
    page.keyboard.press("Escape")
    assert not tip.is_visible()
    cite_tip = page.locator("a.cite >> xpath=../span[contains(@class, 'tip')]")
    page.focus("a.cite")
    assert cite_tip.is_visible() and "A Reference" in cite_tip.text_content()
    page.close()


def test_skip_link_appears_on_focus_and_moves_to_main(browser, page_url):
    page = browser.new_page()
    page.goto(page_url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    top = page.evaluate("document.querySelector('.skip-link').getBoundingClientRect().top")
    assert top >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.close()


def test_opened_from_disk_says_why_figures_are_empty_and_how_to_serve(browser, built_root):
    page = browser.new_page()
    page.goto((built_root / "repo" / "index.html").as_uri())
    notice = page.locator("#file-notice")
    notice.wait_for(state="visible")
    text = " ".join(notice.text_content().split())
    assert "opened as a file" in text and "make serve" in text
    assert notice.bounding_box()["y"] < 200  # at the top, not below the fold
    page.close()


def test_served_page_hides_the_file_notice(browser, page_url):
    page = browser.new_page()
    page.goto(page_url)
    page.wait_for_selector("#fig-h .stand-in")
    assert page.locator("#file-notice").count() == 1 and not page.locator("#file-notice").is_visible()
    page.close()
