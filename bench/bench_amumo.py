"""Amumo import benchmark: import time per folder, bytes per dataset, round-trip error.

Run: .venv/bin/python bench/bench_amumo.py [--amumo ../shared/amumo] [--folders MSCOCO-Val_size-100 ...]

(a) Import time per Amumo folder (--augmentation: also the 200 series) (`exporter.amumo.convert.import_amumo` into a
    temporary folder: read, recover, verify against meta_info, align, write).
(b) Bytes per converted dataset as committed in article/amumo/ (embeddings,
    thumbnails, pairs.jsonl), against the bytes of the published matrices
    they replace (the ratio is the compression).
(c) Round-trip error: max |XXᵀ − S| of the stored (float16) embeddings against
    the published matrix, per model, and the largest difference of the gap
    recomputed from the stored files against meta_info.

Without the Amumo folder (it lives outside the repository) only (b) runs.
Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exporter.amumo.augmentation import import_augmentation  # noqa: E402
from exporter.amumo.convert import import_amumo  # noqa: E402
from exporter.errors import ExportError  # noqa: E402

COMMITTED = REPO / "article" / "amumo"
SOURCES = {  # committed folder -> Amumo folder
    "coco": "MSCOCO-Val_size-100",
    "coco-ablation": "MSCOCO-Val_size-100_CLOOB_ablation",
    "diffusiondb": "DiffusionDB_size-100",
    "triplets": "Triplet_size-100",
}


def _bytes(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def committed_bytes(amumo: Path | None) -> None:
    print("(b) bytes per committed dataset (article/amumo/)")
    total = 0
    for name in sorted(p.name for p in COMMITTED.iterdir() if p.is_dir()):
        folder = COMMITTED / name
        size = _bytes(folder)
        total += size
        vectors, media = _bytes(folder, "*.npy"), _bytes(folder / "media")
        line = f"  {name:<16} {size / 1e6:6.2f} MB (embeddings {vectors / 1e6:.2f} MB, thumbnails {media / 1e6:.2f} MB)"
        source = SOURCES.get(name)
        if amumo is not None and source and (amumo / source / "similarities").is_dir():
            published = _bytes(amumo / source / "similarities", "*.csv") + _bytes(
                amumo / source / "similarities", "*.npy"
            )
            line += f"; published matrices {published / 1e6:.1f} MB, embeddings/matrices = {vectors / published:.3f}"
        elif name == "augmentation" and amumo is not None:
            published = sum(_bytes(p / "similarities", "*.npy") for p in amumo.glob("*-?_size-100"))
            if published:
                line += f"; published matrices (float32 .npy) {published / 1e6:.1f} MB, ratio {vectors / published:.3f}"
        print(line)
    print(f"  total            {total / 1e6:6.2f} MB")


def import_times(amumo: Path, folders: list[str]) -> None:
    print("(a) import time per folder, (c) round-trip error of the stored embeddings")
    with tempfile.TemporaryDirectory() as tmp:
        for name in folders:
            source = amumo / name
            if not source.is_dir():
                print(f"  {name}: not found under {amumo}")
                continue
            start = time.perf_counter()
            try:
                report = import_amumo(source, Path(tmp) / name, skip_bad=True)
            except ExportError as error:  # e.g. CLOOME: every model refused
                print(f"  {name:<36} {time.perf_counter() - start:6.1f} s, nothing imported: {error}")
                continue
            seconds = time.perf_counter() - start
            kept = report.kept
            worst = max(m.stored_error for m in kept)
            gap_error = max(abs(m.gap - m.gap_published) for m in kept if m.gap_published is not None)
            refused = [m.name for m in report.models if m.refused]
            print(
                f"  {name:<36} {seconds:6.1f} s for {len(kept)} models ({seconds / max(1, len(report.models)):.2f} s/model); "
                f"max |XXᵀ−S| float16 {worst:.1e}; max |gap − published| {gap_error:.1e}"
                + (f"; refused: {', '.join(refused)}" if refused else "")
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("AMUMO_DATA", REPO.parent / "shared" / "amumo"))
    parser.add_argument("--amumo", type=Path, default=default, help="Amumo's data (env AMUMO_DATA)")
    parser.add_argument(
        "--augmentation", action="store_true", help="also time the 200 augmentation series (minutes)"
    )
    parser.add_argument("--folders", nargs="*", default=[*SOURCES.values(), "CLOOMDataset_size-100"])
    args = parser.parse_args()
    amumo = args.amumo if args.amumo.is_dir() else None
    if amumo is None:
        print(f"(a), (c) skipped: no Amumo folder at {args.amumo} (pass --amumo)")
    else:
        import_times(amumo, args.folders)
        if args.augmentation:
            with tempfile.TemporaryDirectory() as tmp:
                summary = import_augmentation(amumo, Path(tmp) / "augmentation")
            print(
                f"  augmentation series: {summary['seconds']:.1f} s for {summary['files']} (series, model) matrices; "
                f"mean rank kept {summary['mean_rank']:.0f}, max cosine error {summary['max_error']:.1e}"
            )
    if COMMITTED.is_dir():
        committed_bytes(amumo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
