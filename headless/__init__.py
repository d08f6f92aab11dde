"""Headless Chromium for the browser tests and the benchmarks: Debian's binary and its flags
(chromium.py), the figure-page harness (harness.py) and a quiet local server (server.py).

A package of its own beside tests/ and bench/ so that both use it without bench importing the
test suite; not part of exporter or sitebuild, since neither stage ever starts a browser.
"""
