"""A minimal page that hosts figure modules the way the site build does.

The served tree mirrors a GitHub Pages project site under a sub-path:

    <root>/repo/static/js       -> site/static/js          (symlink: live sources)
    <root>/repo/static/css      -> site/static/css
    <root>/repo/static/vendor  -> site/static/vendor       (the vendored plotly bundle)
    <root>/repo/data/           a data export (tests/fake_export.py, write_fake_export)
    <root>/repo/<page>.html     pages written by write_page()

Each page includes figures.css, a few theme
custom properties, and a module (harness-main.js) that does what the site's
main.js does: import static/js/figures/<kind>.js for each .figure-mount and call
render(mount, config). Switching the browser tests to the real site build only
means pointing them at its output instead of these pages.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITE_STATIC = REPO / "site" / "static"
SUBPATH = "repo"

THEME_CSS = """
:root { --color-bg: #ffffff; --color-fg: #1f2328; --color-muted: #5f6672; --color-accent: #0b6bcb;
        --color-grid: #d0d7de; --color-image: #d55e00; --color-text: #0072b2; --color-panel: #f6f8fa; }
:root[data-theme="dark"] { --color-bg: #0d1117; --color-fg: #e6edf3; --color-muted: #9aa4b0; --color-accent: #58a6ff;
        --color-grid: #30363d; --color-image: #f0a35e; --color-text: #6cb6ff; --color-panel: #161b22; }
body { background: var(--color-bg); color: var(--color-fg); font-family: system-ui, sans-serif; margin: 1rem; max-width: 60rem; }
"""

MAIN_JS = """
// Test stand-in for the site's main.js: hydrate every .figure-mount.
const mounts = [...document.querySelectorAll(".figure-mount")];
window.__figures = Promise.all(mounts.map(async (mount) => {
  const config = JSON.parse(mount.dataset.config);
  try {
    const module = await import(`./static/js/figures/${mount.dataset.kind}.js`);
    await module.render(mount, config);
  } catch (error) {
    console.error(error);
    const p = document.createElement("p");
    p.className = "fig-error";
    p.textContent = `figure failed: ${error.message}`;
    mount.replaceChildren(p);
  }
}));
"""


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        return
    os.symlink(target, link, target_is_directory=target.is_dir())


def prepare_root(root: Path, data_dir: Path) -> Path:
    """Lay out the served tree under root; returns the sub-path folder."""
    top = Path(root) / SUBPATH
    _link(SITE_STATIC / "js", top / "static" / "js")
    _link(SITE_STATIC / "css", top / "static" / "css")
    _link(SITE_STATIC / "vendor", top / "static" / "vendor")
    _link(Path(data_dir).resolve(), top / "data")
    (top / "harness-main.js").write_text(MAIN_JS, encoding="utf-8")
    return top


def figure_config(
    kind: str, fig_id: str, *, dataset: str | None = "shapes", models=None, options=None, data: str = "data"
) -> dict:
    return {
        "kind": kind,
        "id": fig_id,
        "dataset": dataset,
        "models": list(models or []),
        "options": options or {},
        "manifest": f"{data}/manifest.json",
        "base": f"{data}/",
        "version": "",
    }


def write_page(top: Path, name: str, figures: list[dict], *, theme: str = "light") -> str:
    """Write <top>/<name>.html hosting the given figure configs; returns its file name."""
    parts = []
    for config in figures:
        attr = html.escape(json.dumps(config, ensure_ascii=False), quote=True)
        parts.append(
            f'<figure class="figure" id="{html.escape(config["id"])}">'
            f'<div class="figure-mount" data-kind="{html.escape(config["kind"])}" data-config="{attr}"></div>'
            f"<figcaption>{html.escape(config['kind'])} figure</figcaption></figure>"
        )
    page = f"""<!doctype html>
<html lang="en" data-theme="{theme}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>figure harness: {html.escape(name)}</title>
<style>{THEME_CSS}</style>
<link rel="stylesheet" href="static/css/figures.css">
</head>
<body>
{"".join(parts)}
<script type="module" src="harness-main.js"></script>
</body>
</html>
"""
    file = f"{name}.html"
    (Path(top) / file).write_text(page, encoding="utf-8")
    return file
