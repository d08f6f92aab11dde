"""Reading the served fake export from Python, to know what the page must show."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from exporter.contract import decode_array


def load(top: Path, relative: str) -> dict:
    return json.loads((Path(top) / "data" / relative).read_text(encoding="utf-8"))


def items(top: Path, dataset: str = "shapes") -> list[dict]:
    return load(top, f"datasets/{dataset}/items.json")["items"]


def result_file(top: Path, model: str, kind: str, dataset: str = "shapes") -> dict:
    manifest = load(top, "manifest.json")
    entry = next(r for r in manifest["results"] if r["model"] == model and r["dataset"] == dataset)
    return load(top, entry["files"][kind])


def gap_step_matrix(top: Path, step: dict) -> dict:
    """The typed-array matrix of one gap.json step (its own gap-step file)."""
    return load(top, step["matrix_file"])["matrix"]


def scatter_screen(
    points: np.ndarray, width: float, height: float, pad: float = 10, frame: np.ndarray | None = None
) -> np.ndarray:
    """The scatter view's data -> css-pixel map (equal aspect, centred on `frame`, default the points)."""
    bounds = points if frame is None else frame
    x0, x1 = bounds[:, 0].min(), bounds[:, 0].max()
    y0, y1 = bounds[:, 1].min(), bounds[:, 1].max()
    w, h = width - 2 * pad, height - 2 * pad
    s = min(w / ((x1 - x0) or 1), h / ((y1 - y0) or 1))
    ox, oy = pad + (w - s * (x1 - x0)) / 2, pad + (h - s * (y1 - y0)) / 2
    return np.stack([ox + (points[:, 0] - x0) * s, oy + (y1 - points[:, 1]) * s], axis=1)


def projection(top: Path, model: str, method: str, variant: str, dataset: str = "shapes") -> np.ndarray:
    """Points of the original (first gap step) or the closed (last step) embeddings."""
    steps = result_file(top, model, "projections", dataset)["points"][method]
    return decode_array(steps[-1] if variant == "closed" else steps[0])


def projection_frame(top: Path, model: str, method: str, dataset: str = "shapes") -> np.ndarray:
    """The points whose bounds fix the scatter figure's view: original and closed together."""
    steps = result_file(top, model, "projections", dataset)["points"][method]
    return np.concatenate([decode_array(steps[0]), decode_array(steps[-1])])


def preview_state(page, root_selector: str) -> list[dict]:
    """The visible entries of the preview panel inside root_selector."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(`${sel} .fig-preview-item`)].filter((n) => !n.hidden).map((n) => ({
            modality: n.dataset.modality, index: Number(n.dataset.index),
            tag: n.querySelector('.fig-preview-tag').textContent,
            src: n.querySelector('img').hidden ? null : n.querySelector('img').getAttribute('src'),
            caption: n.querySelector('.fig-preview-caption').hidden ? null : n.querySelector('.fig-preview-caption').textContent,
        }))""",
        root_selector,
    )
