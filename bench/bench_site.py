"""Site build benchmark: builds the article N times and prints the time against the 5 s bar.

    python bench/bench_site.py [--runs 5] [--article article] [--data article/data]

When article/ (or its data) does not exist yet, a generated sample article and a
small generated export are built instead (the run says so).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BAR_SECONDS = 5.0


def _sample(workdir: Path) -> tuple[Path, Path]:
    """The test fixture article with a generated export (no torch, no models)."""
    from exporter.synthetic import write_site_export

    data = write_site_export(workdir / "data")
    return REPO / "tests" / "site" / "fixtures" / "article", data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--article", type=Path, default=REPO / "article")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)

    from sitebuild import build_site

    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        workdir = Path(tmp)
        article = args.article
        data = args.data or article / "data"
        source = f"{article}"
        if not any(article.glob("*.md")) or not (data / "manifest.json").is_file():
            article, data = _sample(workdir)
            source = "generated sample article (article/ or its data is missing)"
        times = []
        report = None
        for _ in range(args.runs):
            started = time.perf_counter()
            report = build_site(article, data, workdir / "_site")
            times.append(time.perf_counter() - started)
        # What `make site` costs: a fresh interpreter, imports included.
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sitebuild",
                "--quiet",
                "--article",
                str(article),
                "--data",
                str(data),
                "--out",
                str(workdir / "_site_cli"),
            ],
            check=True,
            cwd=REPO,
        )
        cold = time.perf_counter() - started
    assert report is not None
    median = statistics.median(times)
    print(f"site build: {source}")
    print(f"  {report.figures} figures, {report.citations} citations, {report.data_files} data files")
    print(
        f"  {args.runs} runs: median {median:.3f} s, min {min(times):.3f} s, max {max(times):.3f} s "
        f"(bar {BAR_SECONDS:.0f} s: {median / BAR_SECONDS:.1%} of it, {'OK' if median <= BAR_SECONDS else 'TOO SLOW'})"
    )
    print(f"  cold CLI run (python -m sitebuild, imports included): {cold:.3f} s")
    return 0 if max(median, cold) <= BAR_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
