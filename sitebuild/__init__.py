"""The site build: Markdown chapters + exported data -> a static, explorable article (never imports torch).

Entry points: ``python -m sitebuild --article article --data article/data --out _site``
or :func:`build_site`. The Markdown syntax is documented in sitebuild/SYNTAX.md.
"""

from sitebuild.build import BuildReport, build_site
from sitebuild.errors import BuildError

__all__ = ["BuildError", "BuildReport", "build_site"]
