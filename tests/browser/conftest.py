"""Fixtures for browser tests: one headless Chromium per session, a threaded
HTTP server on 127.0.0.1 serving a sub-path (/repo/) like GitHub Pages, a fake
data export, and a `figure_page` helper that fails the test on console errors,
failed requests, uncaught exceptions or dialogs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from browser_support import FigurePage  # noqa: E402

from headless.harness import SUBPATH, figure_config, prepare_root  # noqa: E402
from headless.server import serve  # noqa: E402
from tests.fake_export import write_fake_export  # noqa: E402

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """(base_url, top folder) of the served sub-path, with a 24-pair export in data/."""
    root = tmp_path_factory.mktemp("served")
    data = root / "export"
    write_fake_export(data, 24, models=("pocket:infonce", "pocket:untrained", "pocket:cyclip"))
    top = prepare_root(root, data)
    with serve(root) as url:
        yield f"{url}{SUBPATH}/", top


@pytest.fixture
def figure_page(browser, served):
    pages = []

    def make(touch: bool = False) -> FigurePage:
        fp = FigurePage(browser, served, touch=touch)
        pages.append(fp)
        return fp

    yield make
    for fp in pages:
        try:
            fp.assert_clean()
        finally:
            fp.context.close()


@pytest.fixture
def config():
    return figure_config
