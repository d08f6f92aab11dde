"""A small COCO-shaped tree (tiny JPEGs + captions_val2017.json + the annotations zip)."""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

ANIMALS = ["dog", "cat", "horse", "bird"]


def write_coco_tree(root: Path, n_images: int = 12) -> dict:
    """root/annotations/captions_val2017.json, root/annotations/annotations_trainval2017.zip, root/val2017/*.jpg."""
    (root / "val2017").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for index in range(n_images):
        image_id = 1000 + 7 * index
        name = f"{image_id:012d}.jpg"
        Image.new("RGB", (32, 24), (20 * index % 255, 100, 255 - 20 * index % 255)).save(
            root / "val2017" / name, quality=90
        )
        images.append({"id": image_id, "file_name": name, "width": 32, "height": 24})
        animal = ANIMALS[index % len(ANIMALS)]
        for k in range(5):
            # The first caption names the animal; "dogs" must not count as the word "dog".
            text = (
                f"A {animal} number {index} version {k}."
                if k == 0
                else f"Some dogs near object {index}-{k}\n"
            )
            annotations.append({"id": 50000 + 10 * index + k, "image_id": image_id, "caption": text})
    data = {"info": {}, "images": images, "annotations": annotations}
    payload = json.dumps(data).encode("utf-8")
    (root / "annotations" / "captions_val2017.json").write_bytes(payload)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("annotations/captions_val2017.json", payload)
        bundle.writestr("annotations/instances_val2017.json", "{}")
    (root / "annotations" / "annotations_trainval2017.zip").write_bytes(buffer.getvalue())
    return data


class RangeHandler(BaseHTTPRequestHandler):
    """Static files with HTTP Range support; records every request."""

    root: Path
    log: list[tuple[str, str | None]]
    honour_ranges: bool = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = (self.root / self.path.lstrip("/")).resolve()
        self.log.append((self.path, self.headers.get("Range")))
        if not path.is_file() or self.root not in path.parents:
            self.send_error(404)
            return
        data = path.read_bytes()
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and self.honour_ranges:
            start = int(match.group(1))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path, *, honour_ranges: bool = True) -> Iterator[tuple[str, list]]:
    log: list[tuple[str, str | None]] = []
    handler = type(
        "Handler", (RangeHandler,), {"root": root.resolve(), "log": log, "honour_ranges": honour_ranges}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()
