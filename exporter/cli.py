"""Command line: `python -m exporter export|models|fetch|import`.

User-facing errors (ExportError) print as one line without a traceback and
exit with status 1; --debug shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from exporter.errors import ExportError
from exporter.seeds import DEFAULT_SEED
from outfolder import OutputFolderError

DEFAULT_CACHE = Path(os.environ.get("LATENT_ARTICLE_CACHE", ".cache/exporter"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m exporter", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="run the models of a config and write the data files")
    export.add_argument("--config", type=Path, default=Path("article/export.toml"), help="export TOML")
    export.add_argument(
        "--out", type=Path, default=None, help="data folder (default: the config's [export] out)"
    )
    export.add_argument(
        "--only",
        action="append",
        default=None,
        metavar="NAME",
        help="export only this model (spec or slug) or dataset; repeatable",
    )
    export.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps ...")
    export.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="embedding and model cache folder")
    export.add_argument(
        "--skip-bad", action="store_true", help="skip unreadable items and list them instead of failing"
    )
    export.add_argument("--debug", action="store_true", help="show tracebacks of errors")

    models = commands.add_parser("models", help="list the model specs that can be named in a config")
    models.add_argument("--debug", action="store_true", help="show tracebacks of errors")

    importer = commands.add_parser("import", help="convert published data into the project's pair format")
    import_kinds = importer.add_subparsers(dest="what", required=True)
    amumo = import_kinds.add_parser(
        "amumo", help="one Amumo exported_data/<DATASET> folder -> pairs + recovered embeddings"
    )
    amumo.add_argument("folder", type=Path, help="an Amumo dataset folder (similarities/, prompts.txt, ...)")
    amumo.add_argument("--out", type=Path, required=True, help="folder to write (replaced as a whole)")
    amumo.add_argument(
        "--skip-bad", action="store_true", help="leave out models that fail a check, and say so"
    )
    amumo.add_argument("--dtype", choices=("float16", "float32"), default="float16", help="storage type")
    amumo.add_argument("--licence", default=None, help="licence of the items when the folder states none")
    amumo.add_argument("--credit", default=None, help="credit line of the items when the folder states none")
    amumo.add_argument("--debug", action="store_true", help="show tracebacks of errors")

    series = import_kinds.add_parser(
        "amumo-augmentation",
        help="Amumo's augmentation series (Rotated-<k>_size-100, ...) -> compact embeddings",
    )
    series.add_argument(
        "root", type=Path, help="the folder holding the series folders and DiffusionDB_size-100"
    )
    series.add_argument("--out", type=Path, required=True, help="folder to write (replaced as a whole)")
    series.add_argument("--debug", action="store_true", help="show tracebacks of errors")

    fetch = commands.add_parser("fetch", help="download data for users with a network")
    fetch_kinds = fetch.add_subparsers(dest="what", required=True)
    coco = fetch_kinds.add_parser("coco", help="MS-COCO val2017 captions and just the chosen images")
    coco.add_argument("--out", type=Path, required=True, help="folder for annotations/ and val2017/")
    coco.add_argument("--n", type=int, default=1000, help="number of pairs to choose")
    coco.add_argument("--seed", type=int, default=DEFAULT_SEED)
    coco.add_argument(
        "--filter",
        action="append",
        default=None,
        metavar="WORD",
        help="keep captions with this word; repeatable",
    )
    coco.add_argument(
        "--match", choices=("any", "all"), default="any", help="with several --filter words: any one or all"
    )
    coco.add_argument("--caption", choices=("first", "random"), default="first", help="which of the captions")
    coco.add_argument("--base-url", default=None, help="a COCO mirror laid out like the official hosts")
    coco.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return parser


def _export(args: argparse.Namespace) -> int:
    from exporter.config import load_config
    from exporter.pipeline import run_export

    config = load_config(args.config)
    out = args.out or config.out
    if out is None:
        raise ExportError(
            f'{args.config}: no output folder; pass --out DIR or set out = "..." under [export]'
        )
    report = run_export(
        config,
        out,
        cache_dir=args.cache,
        device=args.device,
        only=set(args.only) if args.only else None,
        skip_bad=args.skip_bad,
    )
    for dataset, skipped in report.skipped.items():
        for item in skipped:
            print(f"skipped in {dataset}: {item}", file=sys.stderr)
    stages = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in report.stage_seconds.items())
    print(f"wrote {len(report.results)} results to {report.out_dir} ({stages})")
    return 0


def _models(_: argparse.Namespace) -> int:
    from exporter.models.registry import list_model_kinds

    for pattern, description in list_model_kinds():
        print(f"{pattern:<48} {description}")
    from exporter.pocket import POCKET_MODELS

    print("\npocket models (trained by the exporter on first use, then cached):")
    for name, spec in POCKET_MODELS.items():
        learnt = "learnable, starts at" if spec.learn_temperature else "fixed at"
        print(
            f"  pocket:{name:<16} objective {spec.objective:<8} temperature {learnt} {spec.temperature:.4g}"
        )
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from exporter.datasets.shared_options import parse_filter
    from exporter.fetch_coco import coco_urls, fetch_coco

    if args.n < 1:
        raise ExportError(f"--n {args.n}: choose at least 1 pair (the export needs 2 or more)")
    options = {"filter": args.filter, "match": args.match} if args.filter else {}
    caption_filter = parse_filter(options, "fetch coco")
    urls = {}
    if args.base_url:
        urls["annotations_url"], urls["images_url"] = coco_urls(args.base_url)
    result = fetch_coco(
        args.out, n=args.n, seed=args.seed, word_filter=caption_filter, caption=args.caption, **urls
    )
    print(
        f"{len(result.downloaded)} images downloaded, {len(result.already_present)} already present in {args.out}"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    if args.what == "amumo-augmentation":
        from exporter.amumo.augmentation import import_augmentation

        summary = import_augmentation(args.root, args.out)
        print(
            f"wrote {summary['files']} series ({', '.join(summary['models'])}) to {args.out}: mean rank "
            f"{summary['mean_rank']:.0f}, max cosine error {summary['max_error']:.1e}, {summary['seconds']:.1f}s"
        )
        return 0
    from exporter.amumo.convert import import_amumo

    report = import_amumo(
        args.folder,
        args.out,
        skip_bad=args.skip_bad,
        dtype=args.dtype,
        licence=args.licence,
        credit=args.credit,
    )
    print(report.table())
    for model in report.models:
        if model.refused:
            print(f"skipped model {model.name}: {model.refused}", file=sys.stderr)
    print(
        f"wrote {len(report.kept)} of {len(report.models)} models x {report.n} pairs "
        f"({', '.join(report.modalities)}) to {args.out} in {report.seconds:.1f}s"
    )
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run_command_line() -> int:
    """The process entry point: a plain `kill` (SIGTERM) unwinds the staging and lock context
    managers like Ctrl-C does, so it leaves nothing behind; only SIGKILL can (the next run cleans up)."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return main()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"export": _export, "models": _models, "fetch": _fetch, "import": _import}
    try:
        return handlers[args.command](args)
    except (ExportError, OutputFolderError) as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; finished batches are cached and the next run resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(run_command_line())
