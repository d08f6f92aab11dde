"""What a link to the article shows elsewhere: the description text and the Open Graph image.

- `plain_text` turns the rendered abstract into one line of text: data references
  are already numbers, citations become "Liang et al. 2022" instead of a
  bracketed number, and tooltips are dropped.
- `matrix_png` draws a similarity matrix (the article's first matrix figure) as a
  1200 x 630 PNG card, with numpy and zlib only (the site build stays light).
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from html.parser import HTMLParser

import numpy as np

from sitebuild.bibtex import Bibliography, short_author

OG_WIDTH, OG_HEIGHT = 1200, 630
# The viridis control points of site/static/js/theme.js (sampled from matplotlib's map).
VIRIDIS = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
           "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"]
BACKGROUND = (18, 20, 23)  # the dark theme's page colour


class _TextOf(HTMLParser):
    """Visible text of an HTML fragment; citation anchors replaced by author-year text."""

    def __init__(self, bib: Bibliography):
        super().__init__(convert_charrefs=True)
        self.bib = bib
        self.parts: list[str] = []
        self.skip_depth = 0  # inside a tooltip (or a citation anchor already written out)
        self.stack: list[bool] = []  # per open element: does it start a skipped subtree?

    def handle_starttag(self, tag, attrs):
        if tag in {"br", "img", "wbr", "hr", "input", "meta", "link"}:
            return
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        skip = False
        if "tip" in classes:
            skip = True
        elif tag == "a" and "cite" in classes and not self.skip_depth:
            key = (attributes.get("href") or "").removeprefix("#ref-")
            entry = self.bib.entries.get(key)
            if entry is not None:
                year = entry.get("year") or ""
                self.parts.append(f"{short_author(entry)} {year}".strip())
                skip = True
        self.stack.append(skip)
        if skip:
            self.skip_depth += 1

    def handle_endtag(self, tag):
        if tag in {"br", "img", "wbr", "hr", "input", "meta", "link"} or not self.stack:
            return
        if self.stack.pop():
            self.skip_depth -= 1

    def handle_data(self, data):
        if not self.skip_depth:
            self.parts.append(data)


def plain_text(fragment: str, bib: Bibliography, limit: int = 300) -> str:
    """One line of text for <meta name="description">, cut at a word boundary near `limit`."""
    parser = _TextOf(bib)
    parser.feed(fragment)
    parser.close()
    text = " ".join("".join(parser.parts).split())
    text = re.sub(r"\s+([,.;:)\]])", r"\1", text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def _lut() -> np.ndarray:
    stops = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in VIRIDIS], dtype=np.float64)
    t = np.linspace(0, len(stops) - 1, 256)
    k = np.minimum(len(stops) - 2, np.floor(t).astype(int))
    f = (t - k)[:, None]
    return np.round(stops[k] + (stops[k + 1] - stops[k]) * f).astype(np.uint8)


def _png(rgb: np.ndarray) -> bytes:
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _embedding_codes(similarity: dict, embeddings: dict, picked: np.ndarray) -> np.ndarray:
    """u1 codes over similarity.json's range of the cells (picked x picked) of an embeddings.json result."""
    rows, dims = (int(s) for s in str(embeddings["vectors"]["shape"]).split(","))
    codes = np.frombuffer(base64.b64decode(embeddings["vectors"]["bdata"]), dtype=np.int8).reshape(rows, dims)
    scales = np.frombuffer(base64.b64decode(embeddings["scales"]["bdata"]), dtype="<f4")
    vectors = codes[picked] * scales.astype(np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    lo, hi = similarity["range"]
    return np.clip(np.rint((vectors @ vectors.T - lo) / ((hi - lo) or 1.0) * 255), 0, 255).astype(np.uint8)


def matrix_png(similarity: dict, embeddings: dict | None = None) -> bytes:
    """The similarity matrix of a similarity.json payload, cluster-sorted, as an Open Graph card.

    A result that ships embeddings.json instead of its matrix (`embeddings`) has the card's
    cells computed from the int8 embeddings.
    """
    n = int(similarity["n"])
    order = similarity.get("order") or list(range(n))
    side = OG_HEIGHT - 60
    if embeddings is not None:
        rows = n * len(similarity["modalities"])
        index = np.concatenate([m * n + np.asarray(order, dtype=int) for m in range(rows // n)])
        pick = (np.arange(side) * rows // side).clip(0, rows - 1)
        square = _lut()[_embedding_codes(similarity, embeddings, index[pick])]
    else:
        matrix = similarity["matrix"]
        rows, cols = (int(s) for s in str(matrix["shape"]).split(","))
        if matrix["dtype"] != "u1":
            raise ValueError(f"similarity matrix has dtype {matrix['dtype']}, expected u1")
        codes = np.frombuffer(base64.b64decode(matrix["bdata"]), dtype=np.uint8).reshape(rows, cols)
        blocks = rows // n
        index = np.concatenate([m * n + np.asarray(order, dtype=int) for m in range(blocks)])
        codes = codes[np.ix_(index, index)]
        pick = (np.arange(side) * rows // side).clip(0, rows - 1)
        square = _lut()[codes[np.ix_(pick, pick)]]
    card = np.empty((OG_HEIGHT, OG_WIDTH, 3), dtype=np.uint8)
    card[:] = BACKGROUND
    top, left = (OG_HEIGHT - side) // 2, (OG_WIDTH - side) // 2
    card[top : top + side, left : left + side] = square
    return _png(card)
