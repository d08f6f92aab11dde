"""Benchmark the figure modules in headless Chromium.

For 100, 1,000 and 5,000 pairs (kN = 200, 2,000, 10,000), writes a synthetic
export (tests/fake_export.py), serves it under a sub-path, and prints:
- heatmap and scatter first-render time, measured from the moment their data
  arrived (the `figure-rendered` event), and from the start of render();
- hover-to-preview latency, p50 / p95 over 200 pointer moves to random cells
  or points: from dispatching the pointer event until the next animation frame
  has run (the preview text is updated synchronously; the overlay in that frame).

Usage: python bench/bench_figures.py [--sizes 100,1000,5000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from headless.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from headless.harness import SUBPATH, figure_config, prepare_root, write_page  # noqa: E402
from headless.server import serve  # noqa: E402
from tests.fake_export import write_fake_export  # noqa: E402

HOVER_JS = """
async ([sel, selector, count, seed]) => {
  const overlay = document.querySelector(`${sel} ${selector}`);
  const preview = document.querySelector(`${sel} .fig-preview-tag`);
  const rect = overlay.getBoundingClientRect();
  let state = seed;
  const rand = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
  const times = [];
  let changed = 0;
  for (let i = 0; i < count; i++) {
    const x = rect.left + rand() * rect.width, y = rect.top + rand() * rect.height;
    const before = preview ? preview.textContent : "";
    const t0 = performance.now();
    overlay.dispatchEvent(new PointerEvent("pointermove", {clientX: x, clientY: y, pointerType: "mouse", bubbles: true}));
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    times.push(performance.now() - t0);
    const now = document.querySelector(`${sel} .fig-preview-tag`);
    if (now && now.textContent !== before) changed++;
  }
  return {times, changed};
}
"""


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(sizes, keep: Path | None):
    from playwright.sync_api import sync_playwright

    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench-figures-"))
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
            )
            for n in sizes:
                root = work / f"n{n}"
                data = root / "export"
                t = time.perf_counter()
                if not (data / "manifest.json").exists():
                    write_fake_export(
                        data,
                        n,
                        models=("pocket:bench",),
                        datasets=("shapes",),
                        parts=("similarity", "projections"),
                        validate=False,
                    )
                export_s = time.perf_counter() - t
                top = prepare_root(root, data)
                with serve(root) as url:
                    base = f"{url}{SUBPATH}/"
                    size_mb = (
                        data / "results" / "pocket-bench" / "shapes" / "similarity.json"
                    ).stat().st_size / 1e6
                    for kind, selector in (
                        ("heatmap", ".fig-matrix-overlay"),
                        ("scatter", ".fig-scatter-overlay"),
                    ):
                        page = browser.new_page(viewport={"width": 1100, "height": 900})
                        errors = []
                        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
                        file = write_page(
                            top, f"bench-{kind}", [figure_config(kind, "fig-b", models=["pocket:bench"])]
                        )
                        page.evaluate("() => 0")
                        page.add_init_script(
                            """document.addEventListener('figure-rendered', (e) => { window.__rendered = e.detail; });"""
                        )
                        t = time.perf_counter()
                        page.goto(base + file)
                        page.wait_for_function(
                            "() => window.__rendered || document.querySelector('.fig-error')", timeout=120000
                        )
                        wall = time.perf_counter() - t
                        detail = page.evaluate("() => window.__rendered")
                        if detail is None or errors:
                            raise SystemExit(
                                f"{kind} at n={n} failed: {errors or page.locator('.fig-error').text_content()}"
                            )
                        hover = page.evaluate(HOVER_JS, ["#fig-b", selector, 200, 7])
                        rows.append(
                            {
                                "kind": kind,
                                "n": n,
                                "cells": (2 * n) ** 2,
                                "json_mb": size_mb,
                                "export_s": export_s,
                                "render_ms": detail["ms"],
                                "total_ms": detail["total"],
                                "page_s": wall,
                                "p50": statistics.median(hover["times"]),
                                "p95": percentile(hover["times"], 95),
                                "changed": hover["changed"],
                            }
                        )
                        page.close()
            browser.close()
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"{'figure':8} {'pairs':>6} {'matrix':>11} {'sim.json':>9} {'render':>9} {'total':>9} {'page':>7} "
        f"{'hover p50':>10} {'p95':>8} {'updates':>8}"
    )
    for r in rows:
        print(
            f"{r['kind']:8} {r['n']:>6} {2 * r['n']:>5}x{2 * r['n']:<5} {r['json_mb']:>7.1f}MB {r['render_ms']:>7.0f}ms "
            f"{r['total_ms']:>7.0f}ms {r['page_s']:>6.2f}s {r['p50']:>8.1f}ms {r['p95']:>6.1f}ms {r['changed']:>8}"
        )
    print(
        "render: from data arrival to first draw (bar: 1,500 ms at 1,000 pairs); total: from render() start;"
        " page: navigation to rendered; hover: pointer event to next frame (bar: p95 <= 50 ms)"
    )
    for r in rows:
        if r["kind"] == "heatmap" and r["n"] == 1000:
            ok = r["render_ms"] <= 1500 and r["p95"] <= 50
            print(
                f"bars at 1,000 pairs: render {r['render_ms']:.0f} ms / 1,500 ms ({r['render_ms'] / 1500:.2f}x), "
                f"hover p95 {r['p95']:.1f} ms / 50 ms ({r['p95'] / 50:.2f}x): {'met' if ok else 'NOT met'}"
            )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep (and reuse) the generated exports in this folder"
    )
    args = parser.parse_args()
    run([int(s) for s in args.sizes.split(",")], args.keep)


if __name__ == "__main__":
    main()
