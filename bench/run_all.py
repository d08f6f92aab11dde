"""`make bench`: run every benchmark in turn; each prints its own figures and ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    "bench_pocket.py",  # pocket-lab training time, R@1 and gap per model
    "bench_export.py",  # export throughput vs a bare forward loop, bytes per cell, time per stage
    "bench_site.py",  # site build time
    "bench_figures.py",  # first render and hover latency in Chromium at 100 / 1,000 / 5,000 pairs
    "bench_embeddings_browser.py",  # embeddings instead of matrices: bytes, pooled first render, hover, heap
    "bench_scale.py",  # export RSS / output / time at 1k-100k pairs; Ray against the local loop
]


def main() -> int:
    here = Path(__file__).parent
    failed = []
    for name in BENCHES:
        print(f"\n=== {name}", flush=True)
        code = subprocess.call([sys.executable, str(here / name)])
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
