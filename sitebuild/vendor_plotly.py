"""Refresh the vendored plotly.js bundle: `python -m sitebuild.vendor_plotly` (needs npm).

The article draws only scatter and bar traces, so it ships plotly.js's *basic*
partial distribution (scatter, bar, pie; about a third of the full bundle) at a
pinned version, checked against its published sha512. The site build and the
Pages workflow only copy the committed file, so neither needs Node.

Nothing the page ships may point off the host, so the few URLs inside the
bundle are neutralised here, each by an exact, counted replacement (a new
plotly version whose text differs fails loudly instead of shipping a URL):
the "edit in Chart Studio" server, the topojson CDN (geo maps, not in this
bundle), the logo link, documentation links in messages, and the scheme of
URLs in third-party licence comments. XML namespace names (w3.org/2000/svg
...) are identifiers, never requested, and stay.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "plotly.js-basic-dist-min"
VERSION = "4.1.1"
INTEGRITY = "sha512-1oNF8PeQx2hv/y7tqEVWKD3JGwn/MGEMQ8mL9HUwsaqG9FGy/OU5FHUHvzqbqxN4mnwZGI9abTiE775C4kkjMQ=="
VENDOR_DIR = Path(__file__).resolve().parent.parent / "site" / "static" / "vendor"
BUNDLE = "plotly-basic.min.js"
LICENSE = "plotly-basic.LICENSE.txt"

# (old, new, expected count)
PATCHES: list[tuple[str, str, int]] = [
    ('dflt:"https://cloud.plotly.com/newchart"', 'dflt:""', 1),
    ('dflt:"https://cdn.plot.ly/un/"', 'dflt:""', 1),
    ('r.href="https://plotly.com/"', 'r.href="#"', 1),
    ('"https://github.com/d3/d3-format/tree/v1.4.5#d3-format"', '"d3-format v1.4.5"', 1),
    ('"https://github.com/d3/d3-time-format/tree/v2.2.3#locale_format"', '"d3-time-format v2.2.3"', 1),
    (" For more details, see https://plotly.com/javascript/animations/", "", 2),
    ("http://getify.mit-license.org", "getify.mit-license.org", 1),
    ("http://syntheti.cc", "syntheti.cc", 1),
    ("https://github.com/voidqk/polybooljs", "github.com/voidqk/polybooljs", 1),
]

# Namespace names that DOM APIs take as identifiers; no request is ever made to them.
XML_NAMESPACES = (
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/2000/xmlns/",
    "http://www.w3.org/XML/1998/namespace",
)
URL = re.compile(r"https?://[^\s\"'`)<>]+")


def off_host_urls(text: str) -> list[str]:
    """Every absolute http(s) URL in text that is not an XML namespace name."""
    return [u for u in URL.findall(text) if not u.startswith(XML_NAMESPACES)]


def patch(text: str) -> str:
    for old, new, count in PATCHES:
        found = text.count(old)
        if found != count:
            raise SystemExit(
                f"error: expected {count} occurrence(s) of {old!r} in {PACKAGE}@{VERSION}, found {found}; "
                "review PATCHES in sitebuild/vendor_plotly.py for this version"
            )
        text = text.replace(old, new)
    left = off_host_urls(text)
    if left:
        raise SystemExit(f"error: the patched bundle still names off-host URLs: {sorted(set(left))}")
    return text


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            out = subprocess.run(
                ["npm", "pack", f"{PACKAGE}@{VERSION}", "--json"],
                cwd=tmp, check=True, capture_output=True, text=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"error: 'npm pack {PACKAGE}@{VERSION}' failed ({exc}); install Node/npm to refresh the bundle", file=sys.stderr)
            return 1
        tarball = Path(tmp) / json.loads(out)[0]["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            print(f"error: {tarball.name} has integrity {digest}, expected {INTEGRITY}", file=sys.stderr)
            return 1
        with tarfile.open(tarball) as archive:
            bundle = archive.extractfile(f"package/{BUNDLE}").read().decode("utf-8")
            licence = archive.extractfile("package/LICENSE").read().decode("utf-8")
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    (VENDOR_DIR / BUNDLE).write_text(patch(bundle), encoding="utf-8")
    (VENDOR_DIR / LICENSE).write_text(
        f"{PACKAGE} {VERSION} (plotly.js), patched by sitebuild/vendor_plotly.py: off-host URLs removed.\n\n{licence}",
        encoding="utf-8",
    )
    print(f"wrote {VENDOR_DIR / BUNDLE} ({PACKAGE}@{VERSION}, patched) and its licence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
