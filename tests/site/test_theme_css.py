"""The theme's colours: text contrast >= 4.5:1 in both themes, image/text colours apart under CVD."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

CSS = (Path(__file__).resolve().parents[2] / "site/static/css/article.css").read_text(encoding="utf-8")
REQUIRED = ["bg", "fg", "muted", "accent", "grid", "image", "text", "panel"]

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}


def _block(selector: str) -> dict[str, str]:
    match = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", CSS)
    assert match, selector
    return dict(re.findall(r"--color-([\w-]+):\s*(#[0-9a-fA-F]{6})", match.group(1)))


THEMES = {
    "light": _block(":root"),
    "dark": _block(':root[data-theme="dark"]'),
}


def _linear(hex_colour: str) -> np.ndarray:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _luminance(lin: np.ndarray) -> float:
    return float(np.dot([0.2126, 0.7152, 0.0722], np.clip(lin, 0, 1)))


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(_linear(a)), _luminance(_linear(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _lab(lin: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(lin, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_dark_media_query_matches_the_dark_toggle():
    media = re.search(
        r'@media \(prefers-color-scheme: dark\)\s*\{\s*:root:not\(\[data-theme="light"\]\)\s*\{([^}]*)\}', CSS
    )
    assert media
    assert dict(re.findall(r"--color-([\w-]+):\s*(#[0-9a-fA-F]{6})", media.group(1))) == THEMES["dark"]


@pytest.mark.parametrize("theme", THEMES)
def test_required_custom_properties(theme):
    assert set(REQUIRED) <= set(THEMES[theme])


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(
    ("fg", "bg"),
    [
        ("fg", "bg"),
        ("muted", "bg"),
        ("accent", "bg"),
        ("fg", "panel"),
        ("muted", "panel"),
        ("accent", "panel"),
        ("code-keyword", "panel"),
        ("code-string", "panel"),
        ("code-comment", "panel"),
        ("code-number", "panel"),
        ("code-name", "panel"),
        ("warning-fg", "warning-bg"),
        ("error-fg", "error-bg"),
        ("image", "bg"),
        ("text", "bg"),
    ],
)
def test_text_contrast_at_least_4_5(theme, fg, bg):
    colours = THEMES[theme]
    assert contrast(colours[fg], colours[bg]) >= 4.5, (theme, fg, bg, contrast(colours[fg], colours[bg]))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("deficiency", [None, *CVD])
def test_image_and_text_colours_stay_distinguishable(theme, deficiency):
    colours = THEMES[theme]
    image, text = _linear(colours["image"]), _linear(colours["text"])
    if deficiency:
        matrix = np.array(CVD[deficiency])
        image, text = matrix @ image, matrix @ text
    delta_e = float(np.linalg.norm(_lab(image) - _lab(text)))
    assert delta_e >= 30, (theme, deficiency, delta_e)
