"""What the page asks for before its scripts run: the first figure's modules and data.

Figures hydrate lazily, but the article's first figure starts at once (main.js).
Its ES modules and data files would otherwise be discovered one round trip at a
time, only after the whole page is parsed; `<link rel="modulepreload">` and
`<link rel="preload" as="fetch">` in the head fetch them while the page parses.
Only what that figure draws at first render is listed (FIRST_RENDER below); a
kind not listed there gets just its module graph and the manifest.
"""

from __future__ import annotations

import re
from pathlib import Path

from sitebuild.data import DataIndex
from sitebuild.figures import Figure

# Result files each kind's module fetches for its first render, per model it draws then
# ("first": only the first or chosen model, "all": every model), and whether it reads items.json.
FIRST_RENDER: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "heatmap": (("similarity",), "first", True),
    "scatter": (("projections",), "first", True),
    "explorer": (("similarity", "gap", "projections"), "first", True),
    "compare": (("similarity",), "all", True),
    "landscape": (("gap",), "all", False),
    "retrieval": (("retrieval",), "first", True),
    "zeroshot": (("zeroshot",), "first", True),
    "metrics": ((), "all", False),
}
_IMPORT = re.compile(r"""(?:^|\s)(?:import|export)\s[^;]*?\sfrom\s+["'](\.{1,2}/[^"']+\.js)["']""", re.M)


def module_closure(js_dir: Path, entry: str) -> list[str]:
    """Paths (relative to js_dir, posix) of entry and every module it imports statically."""
    seen: list[str] = []
    todo = [entry]
    while todo:
        rel = todo.pop()
        if rel in seen or not (js_dir / rel).is_file():
            continue
        seen.append(rel)
        text = (js_dir / rel).read_text(encoding="utf-8")
        base = (js_dir / rel).parent
        for spec in _IMPORT.findall(text):
            target = (base / spec).resolve().relative_to(js_dir.resolve()).as_posix()
            todo.append(target)
    return seen


def first_figure_data(figure: Figure, data: DataIndex) -> list[str]:
    """Data files (relative to the data folder) the figure fetches for its first render."""
    files = ["manifest.json"]
    plan = FIRST_RENDER.get(figure.kind)
    if plan is None or figure.dataset is None:
        return files
    kinds, which, items = plan
    where = f"figure {figure.id}"
    models = figure.models
    if which == "first" and models:
        wanted = figure.options.get("model")
        models = [wanted if wanted in models else models[0]]
    for model in models:
        for kind in kinds:
            files.append(data.result_file(model, figure.dataset, kind, where))
    if items:
        files.append(data.items_file(figure.dataset, where))
    return files
