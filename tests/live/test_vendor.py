"""The vendored onnxruntime-web: the files the README lists, with the sizes and hashes it states,
the licence beside them, and the byte count the page announces to readers."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "site" / "static" / "vendor" / "onnxruntime-web"
RUNTIME_JS = VENDOR.parents[1] / "js" / "live" / "runtime.js"


def test_vendored_files_match_their_readme():
    rows = re.findall(r"^\| (\S+) \| (\d+) \| ([0-9a-f]{64}) \|$", (VENDOR / "README.md").read_text(), re.M)
    assert {r[0] for r in rows} == {p.name for p in VENDOR.iterdir()} - {"README.md", "LICENSE"}
    for name, size, digest in rows:
        data = (VENDOR / name).read_bytes()
        assert len(data) == int(size), name
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    assert "ONNX Runtime Web v1.30.0" in (VENDOR / "ort.wasm.min.mjs").read_text()[:200]


def test_page_states_the_runtime_size_it_downloads():
    match = re.search(r"RUNTIME_BYTES = ([\d +]+);", RUNTIME_JS.read_text())
    stated = sum(int(x) for x in match.group(1).split("+"))
    assert stated == sum(
        (VENDOR / n).stat().st_size
        for n in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
    )
