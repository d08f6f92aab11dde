"""Every figure kind, hydrated by the real site build (sitebuild + main.js) under a sub-path."""

import pytest
from browser_support import FigurePage

from headless.server import serve
from tests.fake_export import XSS_CAPTION, write_fake_export

FIGURES = [
    ("heatmap", "dataset: shapes\nmodel: pocket:untrained\noptions: quadrant=image-text, sort=clusters"),
    ("scatter", "dataset: shapes\nmodel: pocket:infonce\noptions: method=umap, variant=closed"),
    ("explorer", "dataset: shapes\nmodels: pocket:infonce, pocket:cyclip"),
    ("compare", "dataset: shapes\nmodels: pocket:infonce, pocket:untrained, pocket:cyclip"),
    ("landscape", "dataset: shapes\nmodels: pocket:infonce, pocket:cyclip"),
    ("metrics", "dataset: shapes\nmodels: pocket:infonce, pocket:untrained, pocket:cyclip"),
    ("retrieval", "dataset: shapes\nmodel: pocket:infonce\noptions: direction=t2i, query=1"),
    ("training", "model: pocket:infonce"),
    ("zeroshot", "dataset: shapes\nmodel: pocket:infonce"),
]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    sitebuild = pytest.importorskip("sitebuild")
    root = tmp_path_factory.mktemp("built")
    data = root / "export"
    write_fake_export(data, 24, models=("pocket:infonce", "pocket:untrained", "pocket:cyclip"))
    article = root / "article"
    article.mkdir()
    parts = ['---\ntitle: "All figure kinds"\n---\n\n# Figures\n']
    for kind, fields in FIGURES:
        parts.append(
            f"::: figure {kind} {{#fig-{kind}}}\n{fields}\nalt: The {kind} figure.\n\nThe {kind} figure.\n:::\n"
        )
    (article / "index.md").write_text("\n".join(parts), encoding="utf-8")
    sitebuild.build_site(article, data, root / "www" / "repo")
    with serve(root / "www") as url:
        yield f"{url}repo/", root


def test_all_kinds_render_in_the_built_site(browser, built_site):
    url, root = built_site
    fp = FigurePage(browser, (url, root))
    try:
        page = fp.page
        page.goto(url + "index.html")
        for kind, _ in FIGURES:
            mount = page.locator(f"#fig-{kind} .figure-mount")
            mount.scroll_into_view_if_needed()
            page.wait_for_selector(
                f"#fig-{kind} .figure-mount[data-rendered='true'], #fig-{kind} .figure-error, #fig-{kind} .fig-error",
                timeout=15000,
            )
            assert page.locator(f"#fig-{kind} .figure-error, #fig-{kind} .fig-error").count() == 0, kind
        # The untrained model is flagged once, by the build-time note above the figure (the
        # heatmap's model is fixed, so the figure adds no badge); the XSS caption stays text.
        note = page.locator("#fig-heatmap .figure-warning")
        assert note.count() == 1 and note.is_visible()
        assert "Untrained weights: Model untrained uses random weights" in note.text_content()
        assert page.locator("#fig-heatmap .fig-badge-untrained").count() == 0
        assert page.locator(
            "#fig-compare .fig-compare-cell[data-model='pocket:untrained'] .fig-badge-untrained"
        ).is_visible()
        assert (
            page.locator("#fig-retrieval .fig-query-item .fig-preview-caption").text_content() == XSS_CAPTION
        )
        assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
        # Theme toggle: figures re-colour on themechange without errors.
        page.evaluate(
            "() => { document.documentElement.dataset.theme = 'dark'; document.dispatchEvent(new CustomEvent('themechange')); }"
        )
        page.wait_for_timeout(300)
        fp.assert_clean()
    finally:
        fp.context.close()


PLOTLY_KINDS = {"landscape", "training", "zeroshot"}


def test_figures_load_lazily_and_plotly_only_with_a_chart(browser, built_site):
    """Only the first figure and those within 1.5 screens of the viewport load their module;
    plotly comes with the first chart."""
    url, root = built_site
    fp = FigurePage(browser, (url, root))
    try:
        page = fp.page
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url + "index.html")
        page.wait_for_selector("#fig-heatmap .figure-mount[data-rendered='true']")
        page.wait_for_timeout(500)
        # Figures above grow as they render, so judge with a margin: those well within reach
        # have loaded, those far below have not.
        tops = page.evaluate(
            """() => [...document.querySelectorAll('.figure-mount')]
                 .map((m, i) => [m.dataset.kind, i, m.getBoundingClientRect().top / innerHeight])"""
        )
        near = {kind for kind, i, top in tops if i == 0 or top < 2}
        far = {kind for kind, i, top in tops if i > 0 and top > 4}
        loaded = {k for k, _ in FIGURES if any(f"/figures/{k}.js" in r for r in requests)}
        assert near <= loaded and not (far & loaded) and far, (loaded, tops)
        plotly_requested = any("plotly" in r for r in requests)
        assert plotly_requested == bool(PLOTLY_KINDS & loaded)
        page.locator("#fig-landscape .figure-mount").scroll_into_view_if_needed()
        page.wait_for_selector("#fig-landscape .figure-mount[data-rendered='true']")
        assert sum("plotly-basic.min.js" in r for r in requests) == 1
        # The first figure's data were preloaded by the page head and reused, not fetched twice.
        fetched = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/data/'))")
        assert len(fetched) == len(set(fetched)), sorted(fetched)
        head = page.evaluate("() => [...document.head.querySelectorAll('link[rel=preload], link[rel=modulepreload]')].map((l) => l.href)")
        assert any("/figures/heatmap.js?v=" in h for h in head)  # the first figure's module
        assert any("/data/manifest.json?v=" in h for h in head) and not any("/figures/scatter.js" in h for h in head)
        assert set(h for h in head if "/data/" in h) <= set(fetched)  # everything preloaded is used
        # No modebar: no unnamed buttons inside the chart, nothing off the host.
        assert page.locator("#fig-landscape .modebar-btn, #fig-landscape .modebar a").count() == 0
        assert (
            page.evaluate(
                "() => document.querySelectorAll('[role=img] a, [role=img] button, [role=img] [tabindex]').length"
            )
            == 0
        )
        fp.assert_clean()
    finally:
        fp.context.close()
