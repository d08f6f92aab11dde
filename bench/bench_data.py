"""Data-size benchmark: total bytes of the default export, bytes per dataset, and
the bytes each figure of the article loads when it first draws.

    python bench/bench_data.py [--article article] [--data article/data]

The per-figure list is read from the built page itself: each figure's "Download
the data" links are exactly the files its module fetches to draw (thumbnails,
fetched on hover, are counted per dataset instead).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class FigureLinks(HTMLParser):
    """figure id -> (kind, [data file paths]) from the built index.html."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, tuple[str, list[str]]] = {}
        self._current: str | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            if self._current is not None:
                self._depth += 1
            elif "figure" in (attrs.get("class") or "").split():
                kind = next(
                    (c[len("figure-") :] for c in attrs["class"].split() if c.startswith("figure-")), "?"
                )
                self._current = attrs.get("id", "?")
                self.figures[self._current] = (kind, [])
                self._depth = 0
        elif tag == "a" and self._current is not None and attrs.get("download") is not None:
            self.figures[self._current][1].append(attrs["href"].split("?")[0])

    def handle_endtag(self, tag):
        if tag == "figure" and self._current is not None:
            if self._depth:
                self._depth -= 1
            else:
                self._current = None


def human(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--article", type=Path, default=REPO / "article")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)
    data = args.data or args.article / "data"
    if not (data / "manifest.json").is_file():
        print(f"no export at {data}; run `make export` first", file=sys.stderr)
        return 1

    total = folder_bytes(data)
    print(f"default data ({data}): {human(total)} in {sum(1 for p in data.rglob('*') if p.is_file())} files")
    per_dataset: dict[str, int] = defaultdict(int)
    for path in (data / "datasets").iterdir():
        per_dataset[path.name] += folder_bytes(path)
    for model in (data / "results").iterdir():
        for path in model.iterdir():
            per_dataset[path.name] += folder_bytes(path)
    print("  by dataset (items, thumbnails and every model's results):")
    for name, size in sorted(per_dataset.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<32} {human(size):>10}  {size / total:6.1%}")
    thumbs = {
        p.name: folder_bytes(p / "thumbs") for p in (data / "datasets").iterdir() if (p / "thumbs").is_dir()
    }

    from sitebuild import build_site

    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        out = Path(tmp) / "_site"
        build_site(args.article, data, out)
        links = FigureLinks()
        links.feed((out / "index.html").read_text(encoding="utf-8"))
        print(
            "  each figure's data (the files it links: all it may fetch, e.g. every model an explorer can switch to; thumbnails load on hover):"
        )
        sizes = []
        for fig_id, (kind, files) in links.figures.items():
            size = sum((out / f).stat().st_size for f in dict.fromkeys(files))
            sizes.append(size)
            dataset = next(
                (m.group(1) for f in files if (m := re.search(r"datasets/([^/]+)/items", f))), None
            )
            hover = f", + up to {human(thumbs[dataset])} thumbnails" if dataset in thumbs else ""
            print(f"    {fig_id:<36} {kind:<13} {human(size):>10} in {len(set(files))} files{hover}")
        if sizes:
            print(
                f"  largest figure: {human(max(sizes))}; all figures together (shared files counted per figure): "
                f"{human(sum(sizes))}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
