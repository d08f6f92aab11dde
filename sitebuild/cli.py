"""``python -m sitebuild``: build the article into a static folder."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from sitebuild.build import build_site
from sitebuild.errors import BuildError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sitebuild",
        description="Build the explorable article (Markdown chapters + exported data) into a static folder.",
    )
    parser.add_argument(
        "--article", type=Path, default=Path("article"), help="folder with the chapters (*.md)"
    )
    parser.add_argument("--data", type=Path, default=None, help="export folder (default: ARTICLE/data)")
    parser.add_argument("--out", type=Path, default=Path("_site"), help="output folder (default: _site)")
    parser.add_argument(
        "--site", type=Path, default=None, help="templates + static folder (default: the repo's site/)"
    )
    parser.add_argument("--quiet", action="store_true", help="print errors only")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = build_site(args.article, args.data, args.out, site_dir=args.site)
    except BuildError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; the previous output was left as it was", file=sys.stderr)
        return 130
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(report.summary())
    return 0
