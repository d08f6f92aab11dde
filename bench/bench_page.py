"""Benchmark the reader's page: the shipped article, built and served with gzip (as GitHub Pages serves it).

Prints, against the targets of issue 13:
- on a throttled phone profile (1.6 Mb/s down, 150 ms round trip, 4x CPU slowdown, 390 x 844):
  time to the first drawn figure, time until everything above the fold is drawn
  (the largest contentful paint, and every figure that meets the first screen), and the
  bytes transferred (gzip) before the first figure; median of --runs page loads;
- Lighthouse performance (and accessibility) scores, mobile and desktop presets, with npm's
  lighthouse 12.2.3 (it runs on Debian's Node 20; newer versions want Node 22) driving
  Debian's Chromium. Without Node/npm this part is skipped with a message.

Usage: python bench/bench_page.py [--runs 3] [--no-lighthouse]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from headless.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

LIGHTHOUSE = "lighthouse@12.2.3"
LIGHTHOUSE_DIR = ROOT / ".cache" / "lighthouse-12.2.3"
TARGETS = {
    "first_figure_s": 3.0,
    "above_fold_s": 5.0,
    "bytes_before_first_kb": 500.0,
    "lighthouse_mobile": 90,
}
# The phone profile of the issue: 1.6 Mb/s down, 750 kb/s up, 150 ms round trip, 4x slower CPU.
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
CPU_SLOWDOWN = 4
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
GZIP_TYPES = (".html", ".js", ".css", ".json", ".svg", ".txt")


class GzipHandler(SimpleHTTPRequestHandler):
    """Static files, gzip-encoded for text types when the client accepts it (as GitHub Pages does)."""

    cache: dict[str, bytes] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if not (path.suffix in GZIP_TYPES and path.is_file() and "gzip" in self.headers.get("Accept-Encoding", "")):
            return super().do_GET()
        key = str(path)
        if key not in self.cache:
            self.cache[key] = gzip.compress(path.read_bytes(), compresslevel=6)
        body = self.cache[key]
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def build_and_serve(tmp: Path) -> tuple[str, ThreadingHTTPServer]:
    from sitebuild import build_site

    build_site(ROOT / "article", ROOT / "article" / "data", tmp / "repo")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(GzipHandler, directory=str(tmp)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/repo/", server


# Records each figure's first render and the largest contentful paint, from navigation start.
RECORDER = """
window.__bench = {figures: [], lcp: 0};
document.addEventListener("figure-rendered", (e) => {
  const mount = e.target;
  window.__bench.figures.push({t: performance.now(), id: mount.closest("figure") ? mount.closest("figure").id : "",
                               top: mount.getBoundingClientRect().top + scrollY});
}, true);
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__bench.lcp = Math.max(window.__bench.lcp, entry.startTime);
}).observe({type: "largest-contentful-paint", buffered: true});
"""

MEASURE = """
() => {
  const b = window.__bench;
  const fold = innerHeight;
  const above = [...document.querySelectorAll('.figure-mount')].filter((m) => m.getBoundingClientRect().top + scrollY < fold);
  const first = b.figures.length ? Math.min(...b.figures.map((f) => f.t)) : null;
  const aboveDone = above.every((m) => m.dataset.rendered === 'true');
  const aboveTimes = above.map((m) => (b.figures.find((f) => f.id === (m.closest('figure') || {}).id) || {}).t || Infinity);
  const entries = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')];
  const before = first === null ? 0 : entries.filter((e) => e.responseEnd <= first).reduce((s, e) => s + (e.transferSize || 0), 0);
  const all = entries.reduce((s, e) => s + (e.transferSize || 0), 0);
  const nav = performance.getEntriesByType('navigation')[0];
  const paints = Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, Math.round(p.startTime)]));
  const timing = {responseEnd: Math.round(nav.responseEnd), domInteractive: Math.round(nav.domInteractive),
                  domContentLoaded: Math.round(nav.domContentLoadedEventStart), load: Math.round(nav.loadEventStart), ...paints};
  return {first, lcp: b.lcp, timing, aboveFigures: above.length, aboveDone, aboveFold: Math.max(b.lcp, ...aboveTimes),
          bytesBeforeFirst: before, bytesAtLoad: all, firstId: b.figures.length ? b.figures[0].id : null,
          plotly: entries.some((e) => e.name.includes('plotly')),
          waterfall: entries.filter((e) => first === null || e.startTime <= first).map((e) => [e.name.split('/').slice(-2).join('/').split('?')[0], Math.round(e.startTime), Math.round(e.responseEnd), e.transferSize || 0])};
}
"""


def throttled_load(browser, url: str) -> dict:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    page.add_init_script(RECORDER)
    page.goto(url + "index.html", wait_until="load", timeout=120000)
    page.wait_for_function("() => window.__bench.figures.length > 0", timeout=120000)
    # Let every figure meeting the first screen finish, then read the numbers.
    page.wait_for_function(
        """() => [...document.querySelectorAll('.figure-mount')]
             .filter((m) => m.getBoundingClientRect().top + scrollY < innerHeight)
             .every((m) => m.dataset.rendered === 'true' || m.dataset.state === 'error')""",
        timeout=120000,
    )
    page.wait_for_timeout(1500)
    result = page.evaluate(MEASURE)
    context.close()
    return result


def lighthouse(url: str, preset: str, out_dir: Path) -> dict | str:
    """Scores (0-100) from one Lighthouse run, or the reason it could not run."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "skipped: Node.js/npm not found (install Debian's nodejs and npm to measure Lighthouse scores)"
    cli = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.is_file():
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(LIGHTHOUSE_DIR), LIGHTHOUSE],
            capture_output=True, text=True,
        )
        if done.returncode != 0 or not cli.is_file():
            return f"skipped: 'npm install {LIGHTHOUSE}' failed ({done.stderr.strip()[-200:]})"
    report = out_dir / f"lighthouse-{preset}.json"
    args = [
        node, str(cli), url + "index.html", "--quiet", "--output=json", f"--output-path={report}",
        "--only-categories=performance,accessibility",
        "--chrome-flags=--headless=new " + " ".join(CHROMIUM_ARGS),
    ]
    if preset == "desktop":
        args.append("--preset=desktop")
    done = subprocess.run(args, capture_output=True, text=True, env=os.environ | {"CHROME_PATH": CHROMIUM})
    if done.returncode != 0 or not report.is_file():
        return f"failed: {done.stderr.strip()[-300:]}"
    data = json.loads(report.read_text(encoding="utf-8"))
    audits = data["audits"]
    return {
        "performance": round(100 * data["categories"]["performance"]["score"]),
        "accessibility": round(100 * data["categories"]["accessibility"]["score"]),
        "fcp_s": audits["first-contentful-paint"]["numericValue"] / 1000,
        "lcp_s": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
    }


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="throttled page loads (the median is reported)")
    parser.add_argument("--no-lighthouse", action="store_true")
    parser.add_argument("--waterfall", action="store_true", help="print the requests made before the first figure")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url, server = build_and_serve(tmp)
        try:
            with sync_playwright() as play:
                browser = play.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                runs = [throttled_load(browser, url) for _ in range(args.runs)]
                browser.close()
            first = statistics.median(r["first"] / 1000 for r in runs)
            fold = statistics.median(r["aboveFold"] / 1000 for r in runs)
            lcp = statistics.median(r["lcp"] / 1000 for r in runs)
            kb = statistics.median(r["bytesBeforeFirst"] / 1024 for r in runs)
            print(f"phone profile: 1.6 Mb/s, 150 ms RTT, {CPU_SLOWDOWN}x CPU, 390x844, gzip; median of {len(runs)} loads")
            print(f"  first figure drawn ({runs[0]['firstId']}): {first:6.2f} s   target <= {TARGETS['first_figure_s']} s   {verdict(first <= TARGETS['first_figure_s'])}")
            print(f"  above the fold drawn ({runs[0]['aboveFigures']} figure(s) + LCP {lcp:.2f} s): {fold:6.2f} s   target <= {TARGETS['above_fold_s']} s   {verdict(fold <= TARGETS['above_fold_s'])}")
            print(f"  transferred before the first figure: {kb:6.0f} KB   target <= {TARGETS['bytes_before_first_kb']:.0f} KB   {verdict(kb <= TARGETS['bytes_before_first_kb'])}")
            if args.waterfall:
                print(f"    page timing (ms): {runs[0]['timing']}")
                for name, start, end, size in runs[0]["waterfall"]:
                    print(f"    {start:6d} {end:6d} ms {size / 1024:7.1f} KB  {name}")
            print(f"  transferred by the end of the measurement: {statistics.median(r['bytesAtLoad'] / 1024 for r in runs):.0f} KB; plotly loaded: {any(r['plotly'] for r in runs)}")
            if not args.no_lighthouse:
                for preset in ("mobile", "desktop"):
                    scores = lighthouse(url, preset, tmp)
                    if isinstance(scores, str):
                        print(f"lighthouse {preset}: {scores}")
                        continue
                    line = (
                        f"lighthouse {preset}: performance {scores['performance']}, accessibility {scores['accessibility']} "
                        f"(FCP {scores['fcp_s']:.2f} s, LCP {scores['lcp_s']:.2f} s, TBT {scores['tbt_ms']:.0f} ms)"
                    )
                    if preset == "mobile":
                        line += f"   target performance >= {TARGETS['lighthouse_mobile']}   {verdict(scores['performance'] >= TARGETS['lighthouse_mobile'])}"
                    print(line)
        finally:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
