"""The whole path on a thin but real slice: bundled photographs -> an open_clip model
loaded from a local checkpoint -> data files -> article -> headless Chromium.

The site is served under a sub-path, as GitHub Pages serves /<repo>/.
"""

from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from exporter.cli import main as export_main
from exporter.contract import SCHEMA_VERSION, decode_array
from sitebuild import build_site

pytestmark = [pytest.mark.slow, pytest.mark.browser]

N_PAIRS = 12
ARTICLE = """---
title: "A thin slice"
date: 2026-11-24
abstract: |
  {{ count pairs samples }} photographs through one model.
---

# The matrix

::: figure heatmap {#fig-slice}
dataset: samples
model: slice
alt: The similarity matrix of photographs and captions under a random-weight model.

Similarities of {{ count pairs samples }} pairs; the gap is
{{ metric slice samples centroid_distance | fixed:3 }}.
:::

::: figure scatter {#fig-slice-scatter}
dataset: samples
model: slice
alt: A PCA projection of the same embeddings, coloured by modality.

The same embeddings, projected.
:::
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_checkpoint, tiny_arch):
    checkpoint, _ = tiny_checkpoint
    root = tmp_path_factory.mktemp("slice")
    config = root / "export.toml"
    config.write_text(
        f"""
[export]
seed = 31415
projections = ["pca"]

[[datasets]]
name = "samples"
kind = "samples"
n = {N_PAIRS}

[[models]]
spec = "open_clip:{tiny_arch}:{checkpoint}"
slug = "slice"
label = "Tiny ViT (local checkpoint)"
""",
        encoding="utf-8",
    )
    data = root / "data"
    code = export_main(
        ["export", "--config", str(config), "--out", str(data), "--cache", str(root / "cache")]
    )
    assert code == 0
    return root, data


@pytest.fixture(scope="module")
def served_site(exported):
    root, data = exported
    article = root / "article"
    article.mkdir()
    manifest = json.loads((data / "manifest.json").read_text())
    spec = manifest["models"][0]["name"]
    # Figures name the model by its slug; data references need the spec.
    (article / "index.md").write_text(ARTICLE.replace("metric slice", f"metric {spec}"), encoding="utf-8")
    (article / "references.bib").write_text("", encoding="utf-8")
    served = root / "served"
    build_site(article, data, served / "repo")
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/repo/", data
    server.shutdown()
    server.server_close()


def test_export_writes_the_contract(exported):
    _, data = exported
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION
    (result,) = manifest["results"]
    similarity = json.loads((data / result["files"]["similarity"]).read_text())
    matrix = decode_array(similarity["matrix"])
    assert matrix.shape == (2 * N_PAIRS, 2 * N_PAIRS)
    assert np.allclose(np.diag(matrix), 1.0, atol=similarity["matrix"]["scale"])
    items = json.loads((data / "datasets/samples/items.json").read_text())["items"]
    assert len(items) == N_PAIRS and all((data / "datasets/samples" / i["image"]).is_file() for i in items)


def test_article_hover_shows_both_items(browser, served_site):
    url, data = served_site
    items = json.loads((data / "datasets/samples/items.json").read_text())["items"]
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url)
    page.wait_for_selector("#fig-slice .figure-mount[data-rendered='true']")
    page.wait_for_selector("#fig-slice-scatter .figure-mount[data-rendered='true']")
    assert page.locator("#fig-slice figcaption").inner_text().count(str(N_PAIRS)) >= 1

    # Hover image 3 against caption 8 (column N + 8) of the stacked matrix.
    overlay = page.locator("#fig-slice .fig-matrix-overlay")
    overlay.scroll_into_view_if_needed()
    box = overlay.bounding_box()
    cells = 2 * N_PAIRS
    page.mouse.move(box["x"] + (N_PAIRS + 8.5) * box["width"] / cells, box["y"] + 3.5 * box["height"] / cells)
    page.wait_for_function("() => !document.querySelector('#fig-slice .fig-preview-empty').checkVisibility()")
    shown = page.evaluate(
        """() => [...document.querySelectorAll('#fig-slice .fig-preview-item')].filter((n) => !n.hidden)
              .map((n) => ({modality: n.dataset.modality, index: Number(n.dataset.index),
                            src: n.querySelector('img').hidden ? null : n.querySelector('img').getAttribute('src'),
                            caption: n.querySelector('.fig-preview-caption').hidden ? null
                                     : n.querySelector('.fig-preview-caption').textContent}))"""
    )
    image, caption = shown
    assert (image["modality"], image["index"]) == ("image", 3)
    assert image["src"].split("?")[0].endswith(items[3]["image"])
    assert (caption["modality"], caption["index"]) == ("text", 8)
    assert caption["caption"] == items[8]["text"]
    # The image really loads (a failed thumbnail would show as a broken image). Figures load
    # lazily, so no other figure has fetched this thumbnail before: wait for it.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#fig-slice .fig-preview-item img')].some((i) => !i.hidden && i.complete && i.naturalWidth > 0)",
        timeout=10000,
    )
    assert errors == [] and failed == []
    context.close()
