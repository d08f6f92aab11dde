"""Benchmark: train the default pocket set from scratch and report time, R@1 and the gap.

Run: .venv/bin/python bench/bench_pocket.py [--seed 31415] [--models infonce,cloob] [--keep DIR] [--strict]

Bars (issue 4): the whole default set trains in at most 240 s on the 2-core
reference machine; the InfoNCE model reaches text->image R@1 >= 0.5 on the 100
held-out display pairs (chance 0.01). Timings depend on what else runs on the
machine; run it on an idle one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from exporter.pocket.registry import DEFAULT_SET, ensure_pocket_model, load_pocket_model  # noqa: E402
from exporter.pocket.scenes import CLASSES, ZERO_SHOT_TEMPLATES, contains_held_out_combo, display_pairs  # noqa: E402
from exporter.pocket.train import recall_at_1  # noqa: E402
from exporter.seeds import DEFAULT_SEED  # noqa: E402

BUDGET_S = 240.0
R1_BAR = 0.5


def _subset_t2i(image: np.ndarray, text: np.ndarray, rows: np.ndarray) -> float:
    """Text->image R@1 of the queries in ``rows`` against the full gallery."""
    if not rows.any():
        return float("nan")
    best = (text[rows] @ image.T).argmax(axis=1)
    return float(np.mean(best == np.flatnonzero(rows)))


@torch.no_grad()
def _zero_shot(art, image: np.ndarray, labels: np.ndarray) -> list[float]:
    """Accuracy per template, with the checkpoint loaded through open_clip."""
    model, _, tokenizer = load_pocket_model(art, "cpu")
    out = []
    for template in ZERO_SHOT_TEMPLATES:
        classes = model.encode_text(tokenizer([template.format(c) for c in CLASSES]), normalize=True).numpy()
        out.append(float(np.mean((image @ classes.T).argmax(axis=1) == labels)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--models", default=",".join(DEFAULT_SET))
    parser.add_argument(
        "--keep", type=Path, default=None, help="cache folder to keep (default: a fresh temporary one)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a bar is missed (timings vary with machine load)"
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-pocket-") as tmp:
        cache_dir = args.keep or Path(tmp)
        held = labels = None
        rows = []
        zs_head = "".join(f"{'zs ' + repr(t):>14}" for t in ZERO_SHOT_TEMPLATES)
        print(
            f"{'model':<11}{'train s':>9}{'t2i R@1':>9}{'i2t R@1':>9}{'gap':>8}{'gap@0':>8}{'temp':>9}"
            f"{'t2i held-out combos':>21}{zs_head}"
        )
        for name in names:
            start = time.perf_counter()
            art = ensure_pocket_model(name, cache_dir=cache_dir, seed=args.seed)
            seconds = time.perf_counter() - start
            dyn = art.load_dynamics()
            image, text = dyn["image"][-1], dyn["text"][-1]
            if held is None:
                scenes = display_pairs(image.shape[0], seed=args.seed)
                held = np.array([contains_held_out_combo(s) for s in scenes])
                labels = np.array([CLASSES.index(s.label) for s in scenes])
            t2i, i2t = recall_at_1(image, text)
            gap = float(np.linalg.norm(image.mean(0) - text.mean(0)))
            print(
                f"{name:<11}{seconds:>9.1f}{t2i:>9.2f}{i2t:>9.2f}{gap:>8.3f}{dyn['centroid_distance'][0]:>8.3f}"
                f"{art.temperature:>9.4f}{_subset_t2i(image, text, held):>12.2f} (n={int(held.sum()):>3})"
                + "".join(f"{acc:>14.2f}" for acc in _zero_shot(art, image, labels))
            )
            rows.append((name, seconds, t2i))
        total = sum(seconds for _, seconds, _ in rows)  # training only, not the evaluation above
    print(
        f"total {total:.1f} s for {len(names)} models; budget {BUDGET_S:.0f} s ({total / BUDGET_S:.0%} of budget)"
    )
    ok = total <= BUDGET_S
    if not ok:
        print(f"OVER BUDGET by {total - BUDGET_S:.1f} s (is the machine busy?)")
    for name, _, t2i in rows:
        if name == "infonce":
            print(
                f"infonce t2i R@1 {t2i:.2f} (bar {R1_BAR}, chance {1 / 100:.2f}): {'ok' if t2i >= R1_BAR else 'BELOW BAR'}"
            )
            ok = ok and t2i >= R1_BAR
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
