"""Benchmark the live figures' encoders in headless Chromium, on the committed default export.

For each pocket model with a live bundle in article/data, serves the export and the vendored
onnxruntime-web under a sub-path and prints:
- bytes a reader downloads: runtime (wasm + JS) and the model's towers;
- first-query latency: from the first question to its answer (runtime download + compile,
  text tower download + session, one text query), on a fresh page;
- per-query latency, p50 / p95 over 100 typed captions (text tower) and 50 images (image tower);
- one occlusion-saliency map (196 + 1 forward passes of the image tower);
- the same text queries in onnxruntime (Python, one thread), as a ratio.

With --open-clip ARCH (e.g. ViT-B-32), also an open_clip text tower, float and int8: the
architecture at random weights (sizes and speed do not depend on the weights; nothing is
downloaded), exported by exporter/live into a scratch export, then measured the same way
with the page's BPE tokenizer: bytes of tower and tokenizer tables, first query, p50 / p95.

Usage: python bench/bench_live.py [--data article/data] [--models pocket:infonce,...] [--open-clip ViT-B-32]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from headless.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from headless.harness import SUBPATH, prepare_root  # noqa: E402
from headless.server import serve  # noqa: E402

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench live</title>
<link rel="icon" href="data:,"></head><body><script type="module">
import { openLiveModel } from "./static/js/live/model.js";
import { occlusionMap } from "./static/js/live/occlusion.js";
const manifest = await (await fetch("data/manifest.json")).json();
const base = new URL("data/", document.baseURI);
const ctx = { manifest, resolve: (rel) => new URL(rel, base) };
window.bench = {
  async open(name) { window.live = await openLiveModel(ctx, manifest.models.find((m) => m.name === name)); },
  async first(text) { const t = performance.now(); await window.live.encodeTexts([text]); return performance.now() - t; },
  async texts(list) { const out = []; for (const t of list) { const s = performance.now(); await window.live.encodeTexts([t]); out.push(performance.now() - s); } return out; },
  async images(dataset, n) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const x = window.live.pixels(await window.live.itemRGBA(dataset, i));
      const s = performance.now(); await window.live.encodeImages([x]); out.push(performance.now() - s);
    }
    return out;
  },
  async occlusion(dataset) {
    const rgba = await window.live.itemRGBA(dataset, 0);
    const [v] = await window.live.encodeTexts(["a red circle"]);
    const s = performance.now(); await occlusionMap(window.live, rgba, 64, v); return performance.now() - s;
  },
};
window.benchReady = true;
</script></body></html>
"""


def pct(values, q):
    return float(np.percentile(values, q))


def captions(n: int) -> list[str]:
    from exporter.pocket.scenes import display_pairs

    return [s.caption for s in display_pairs(n, seed=7)]


def python_text_ms(onnx_file: Path, bundle: dict, texts: list[str]) -> list[float]:
    import onnxruntime

    from exporter.pocket.tokenizer import WordTokenizer

    tok = WordTokenizer(
        words=bundle["tokenizer"]["vocab"][3:-1], context_length=bundle["tokenizer"]["context_length"]
    )
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    out = []
    for t in texts:
        ids = tok([t]).numpy()
        s = time.perf_counter()
        session.run(None, {"tokens": ids})
        out.append(1000 * (time.perf_counter() - s))
    return out


def random_open_clip(arch: str, name: str):
    """``arch`` at random weights behind the exporter's model interface (no download)."""
    import open_clip
    import torch

    from exporter.models.base import ModelInfo
    from exporter.models.open_clip_model import OpenClipModel

    torch.manual_seed(0)
    clip, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    info = ModelInfo(
        name=name,
        family="clip",
        objective="infonce",
        weights="random",
        logit_scale=100.0,
        logit_bias=None,
        embed_dim=int(clip.text_projection.shape[1]),
        trained=False,
        description="random weights (benchmark)",
        cache_key=f"bench-{arch}",
    )
    return OpenClipModel(clip.eval(), preprocess, open_clip.get_tokenizer(arch), torch.device("cpu"), info)


def bench_open_clip(browser, arch: str, texts: list[str]) -> None:
    """Float and int8 text towers of a random-weight open_clip ``arch``, in a scratch export
    holding just what the page's live model needs: a manifest and the live bundles."""
    from exporter.config import ModelConfig
    from exporter.datasets.base import PairDataset, PairItem
    from exporter.live.bundle import write_live_bundle

    names = {False: f"open_clip:{arch}:random", True: f"open_clip:{arch}:random-int8"}
    model = random_open_clip(arch, names[False])
    dataset = PairDataset(
        name="captions",
        kind="bench",
        description="benchmark captions",
        items=[PairItem(id=str(i), text=t, image=None, image_key="") for i, t in enumerate(texts[:8])],
    )
    vectors = model.encode_texts([it.text for it in dataset.items])
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "export"
        made, entries = {}, []
        for int8, name in names.items():
            cfg = ModelConfig(spec=name, label=name, slug=f"oc-{int(int8)}", live="text", live_int8=int8)
            t = time.perf_counter()
            entry = write_live_bundle(
                model,
                cfg,
                [dataset],
                {dataset.name: {"image": vectors, "text": vectors}},  # stand-ins: only the tower is timed
                data,
                methods=(),
                seed=0,
                say=lambda _m: None,
            )
            made[int8] = (entry, time.perf_counter() - t)
            entries.append(entry)
        manifest = {"models": [{"name": n} for n in names.values()], "live": entries}
        (data / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        top = prepare_root(Path(tmp) / "site", data)
        (top / "bench.html").write_text(PAGE, encoding="utf-8")
        with serve(Path(tmp) / "site") as base:
            url = f"{base}{SUBPATH}/bench.html"
            print(f"\nopen_clip {arch} text tower (random weights), {len(texts)} captions:")
            print(
                f"{'tower':10} {'MB':>7} {'tokenizer kB':>12} {'export s':>8} {'first q ms':>10} {'text p50':>8} {'text p95':>8} {'py p50':>7}"
            )
            for int8, (entry, seconds) in made.items():
                bundle = json.loads((data / entry["file"]).read_text())
                tok = bundle["tokenizer"]
                page = browser.new_context().new_page()
                page.goto(url)
                page.wait_for_function("() => window.benchReady === true")
                page.evaluate("(m) => window.bench.open(m)", names[int8])
                first = page.evaluate("(t) => window.bench.first(t)", texts[0])
                text_ms = page.evaluate("(t) => window.bench.texts(t)", texts)
                page.context.close()
                py = python_open_clip_ms(data / bundle["towers"]["text"]["file"], model.tokenizer, texts)
                print(
                    f"{'int8' if int8 else 'float':10} {entry['bytes'] / 1e6:7.1f} {(tok['merges']['bytes'] + tok['tables']['bytes']) / 1e3:12.0f} "
                    f"{seconds:8.0f} {first:10.0f} {statistics.median(text_ms):8.1f} {pct(text_ms, 95):8.1f} {statistics.median(py):7.1f}"
                )


def python_open_clip_ms(onnx_file: Path, tokenizer, texts: list[str]) -> list[float]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = (
        onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    )  # as the export checks
    session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    out = []
    for t in texts:
        ids = tokenizer([t]).numpy()
        s = time.perf_counter()
        session.run(None, {"tokens": ids})
        out.append(1000 * (time.perf_counter() - s))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT / "article" / "data")
    parser.add_argument("--models", default="")
    parser.add_argument("--open-clip", default="", help="also an open_clip text tower of this architecture")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    manifest = json.loads((args.data / "manifest.json").read_text())
    entries = manifest.get("live", [])
    if args.models:
        wanted = set(args.models.split(","))
        entries = [e for e in entries if e["model"] in wanted]
    if not entries:
        print(
            f"error: {args.data}/manifest.json lists no live models; export with live = true first",
            file=sys.stderr,
        )
        return 1
    runtime = sum(
        (ROOT / "site/static/vendor/onnxruntime-web" / n).stat().st_size
        for n in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
    )
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        top = prepare_root(Path(tmp), args.data)
        (top / "bench.html").write_text(PAGE, encoding="utf-8")
        with serve(tmp) as base:
            url = f"{base}{SUBPATH}/bench.html"
            texts = captions(args.queries)
            print(f"runtime (onnxruntime-web 1.30.0, wasm + JS): {runtime / 1e6:.2f} MB")
            print(
                f"{'model':18} {'towers MB':>9} {'first q ms':>10} {'text p50':>8} {'text p95':>8} {'img p50':>8} {'img p95':>8} {'occl ms':>8} {'py text p50':>11} {'page/py':>7}"
            )
            with sync_playwright() as play:
                browser = play.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for entry in entries:
                    bundle = json.loads((args.data / entry["file"]).read_text())
                    dataset = next(iter(bundle["datasets"]))
                    page = browser.new_context().new_page()
                    page.goto(url)
                    page.wait_for_function("() => window.benchReady === true")
                    page.evaluate("(m) => window.bench.open(m)", entry["model"])
                    first = page.evaluate("(t) => window.bench.first(t)", texts[0])
                    text_ms = page.evaluate("(t) => window.bench.texts(t)", texts)
                    image_ms = (
                        page.evaluate("([d, n]) => window.bench.images(d, n)", [dataset, 50])
                        if "image" in bundle["towers"]
                        else []
                    )
                    occl = (
                        page.evaluate("(d) => window.bench.occlusion(d)", dataset)
                        if "image" in bundle["towers"]
                        else float("nan")
                    )
                    py = python_text_ms(args.data / bundle["towers"]["text"]["file"], bundle, texts)
                    page.context.close()
                    p50 = statistics.median(text_ms)
                    print(
                        f"{entry['model']:18} {entry['bytes'] / 1e6:9.2f} {first:10.0f} {p50:8.2f} {pct(text_ms, 95):8.2f} "
                        f"{(statistics.median(image_ms) if image_ms else float('nan')):8.2f} {(pct(image_ms, 95) if image_ms else float('nan')):8.2f} "
                        f"{occl:8.0f} {statistics.median(py):11.2f} {p50 / statistics.median(py):7.1f}x"
                    )
                if args.open_clip:
                    bench_open_clip(browser, args.open_clip, texts)
                browser.close()
    print("first q: fresh page, runtime + text tower downloaded from a local server and compiled, one query.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
