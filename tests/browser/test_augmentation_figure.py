"""The augmentation figure in a real site build: a precomputed series (tests/series.py)
exported, an article citing its numbers, the figure drawn, switched and credited."""

from __future__ import annotations

import json

import pytest

from exporter.config import parse_config
from exporter.pipeline import run_export
from headless.server import serve
from tests.browser.browser_support import FigurePage
from tests.series import own_series_config, series_folder

ARTICLE = """---
title: "Augmentations"
---

# Series

Blurred to the end, CLIP's image matches its caption at
{{ augmentation amumo-augment:CLIP amumo-augment summary.blur.image_caption_end | fixed:3 }}.

::: figure augmentation {#fig-aug}
dataset: amumo-augment
options: augmentation=blur
alt: Image-caption similarity along each augmentation.

The series.
:::
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    sitebuild = pytest.importorskip("sitebuild")
    root = tmp_path_factory.mktemp("aug")
    folder, _ = series_folder(root / "series")
    config = parse_config(
        f'[[augmentation_series]]\nname = "amumo-augment"\npath = "{folder.as_posix()}"\n', root / "x.toml"
    )
    run_export(config, root / "data", cache_dir=root / "cache", device="cpu")
    (root / "article").mkdir()
    (root / "article" / "index.md").write_text(ARTICLE, encoding="utf-8")
    sitebuild.build_site(root / "article", root / "data", root / "www" / "repo")
    with serve(root / "www") as url:
        yield f"{url}repo/", root


def test_augmentation_figure(browser, built):
    url, root = built
    payload = json.loads(
        (root / "data/results/amumo-augment-clip/amumo-augment/augmentation.json").read_text()
    )
    summary = payload["summary"]
    html = (root / "www/repo/index.html").read_text(encoding="utf-8")
    assert f"{summary['blur']['image_caption_end']:.3f}" in html
    fp = FigurePage(browser, (url, root))
    try:
        page = fp.page
        page.goto(url + "index.html")
        page.locator("#fig-aug .figure-mount").scroll_into_view_if_needed()
        page.wait_for_selector(
            "#fig-aug .figure-mount[data-rendered='true'], #fig-aug .fig-error", timeout=15000
        )
        assert page.locator("#fig-aug .fig-error").count() == 0
        row = page.locator("#fig-aug tbody tr").first
        assert row.locator("th").text_content() == "CLIP RN50"
        assert row.locator("td").nth(3).text_content() == f"{summary['blur']['series_gap_mean']:.3f}"
        # Recovered series have no shared frame: no per-step gap measure is offered.
        options = page.eval_on_selector_all(
            "#fig-aug select >> nth=1 >> option", "os => os.map(o => o.value)"
        )
        assert options == ["image_caption", "image_original"]
        page.locator("#fig-aug select").first.select_option("hshift")
        assert (
            page.locator("#fig-aug tbody tr td").nth(3).text_content()
            == f"{summary['hshift']['series_gap_mean']:.3f}"
        )
        assert "step 3" in page.locator("#fig-aug .fig-note").text_content()
        credits = page.eval_on_selector_all(
            "#fig-aug .fig-aug-base figcaption", "cs => cs.map(c => c.textContent)"
        )
        assert credits == ["DiffusionDB (CC0 1.0)"] * 2
        fp.assert_clean()
    finally:
        fp.context.close()


OWN_ARTICLE = """---
title: "Own series"
---

# Series

::: figure augmentation {#fig-own}
dataset: samples
options: augmentation=noise
alt: Image-caption similarity along each augmentation.

The series.
:::
"""


def test_own_series_shows_only_its_base_images(browser, tmp_path, tiny_arch):
    """An exporter-made series starts from the first augment_bases items of a larger dataset:
    the figure's strip shows those bases, not every item of the dataset."""
    import sitebuild

    config = parse_config(
        own_series_config(tiny_arch, n=5, steps=3),
        tmp_path / "export.toml",
    )
    run_export(config, tmp_path / "data", cache_dir=tmp_path / "cache", device="cpu")
    manifest = json.loads((tmp_path / "data/manifest.json").read_text())
    bases = json.loads((tmp_path / "data" / manifest["augmentations"][0]["file"]).read_text())["bases"]
    items = json.loads((tmp_path / "data/datasets/samples/items.json").read_text())["items"]
    assert len(items) == 5 and len(bases) == 3
    (tmp_path / "article").mkdir()
    (tmp_path / "article" / "index.md").write_text(OWN_ARTICLE, encoding="utf-8")
    sitebuild.build_site(tmp_path / "article", tmp_path / "data", tmp_path / "www" / "repo")
    with serve(tmp_path / "www") as url:
        fp = FigurePage(browser, (f"{url}repo/", tmp_path))
        try:
            page = fp.page
            page.goto(f"{url}repo/index.html")
            page.locator("#fig-own .figure-mount").scroll_into_view_if_needed()
            page.wait_for_selector("#fig-own .figure-mount[data-rendered='true'], #fig-own .fig-error", timeout=15000)
            assert page.locator("#fig-own .fig-error").count() == 0
            shown = page.eval_on_selector_all("#fig-own .fig-aug-base img", "is => is.map(i => i.alt)")
            by_id = {item["id"]: item["text"] for item in items}
            assert shown == [by_id[b] for b in bases]
            fp.assert_clean()
        finally:
            fp.context.close()
