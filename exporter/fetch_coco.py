"""`python -m exporter fetch coco`: the captions file and only the chosen val2017 images.

Downloads are resumable: a finished file is never fetched again, an
interrupted one continues from its `.part` file with an HTTP Range request (or
starts over when the server ignores ranges), and a file only gets its final
name once complete. The default URLs are the official COCO hosts; --base-url
points them at a mirror with the same layout.
"""

from __future__ import annotations

import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import Request, urlopen

from tqdm.auto import tqdm

from exporter.contract import write_bytes_atomic
from exporter.datasets.coco import ANNOTATIONS_FILE, IMAGES_FOLDER, CocoPair, read_annotations, select_pairs
from exporter.datasets.shared_options import CaptionFilter
from exporter.errors import ExportError
from exporter.seeds import DEFAULT_SEED

DEFAULT_BASE_URL = "http://images.cocodataset.org/"
DEFAULT_ANNOTATIONS_URL = DEFAULT_BASE_URL + "annotations/annotations_trainval2017.zip"
DEFAULT_IMAGES_URL = DEFAULT_BASE_URL + "val2017/"
ZIP_MEMBER = "annotations/captions_val2017.json"
CHUNK = 1 << 16
WORKERS = 4


@dataclass
class FetchResult:
    annotations: Path
    images: Path
    pairs: list[CocoPair]
    downloaded: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)


def coco_urls(base_url: str) -> tuple[str, str]:
    """(annotations zip URL, images folder URL) under a mirror with COCO's layout."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
        raise ExportError(
            f"--base-url {base_url!r} is not a URL; give a mirror such as https://host/coco/ "
            "(with annotations/ and val2017/ under it)"
        )
    base = base_url if base_url.endswith("/") else base_url + "/"
    return urljoin(base, "annotations/annotations_trainval2017.zip"), urljoin(base, "val2017/")


def _network_error(url: str, error: BaseException) -> ExportError:
    if isinstance(error, HTTPError):
        reason = f"HTTP {error.code} {error.reason}"
    elif isinstance(error, URLError):
        reason = str(error.reason)
    else:
        reason = str(error) or type(error).__name__
    return ExportError(
        f"{url}: download failed ({reason}); check the network or --base-url, then rerun to resume"
    )


def download(
    url: str, dest: Path, *, timeout: float = 30.0, progress: bool = True, _retry: bool = True
) -> bool:
    """Fetch url into dest unless dest exists; True when something was downloaded."""
    if dest.is_file():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as error:
        if error.code == 416 and offset and _retry:
            # Our partial file is not a prefix the server recognises: start over.
            part.unlink()
            return download(url, dest, timeout=timeout, progress=progress, _retry=False)
        raise _network_error(url, error) from error
    except (URLError, OSError) as error:
        raise _network_error(url, error) from error
    with response:
        resumed = bool(offset) and response.status == 206
        if not resumed:
            offset = 0  # the server sent the whole file
        length = response.headers.get("Content-Length")
        total = int(length) + offset if length and length.isdigit() else None
        try:
            with (
                open(part, "ab" if resumed else "wb") as handle,
                tqdm(
                    total=total,
                    initial=offset,
                    unit="B",
                    unit_scale=True,
                    desc=dest.name,
                    disable=not progress,
                    leave=False,
                ) as bar,
            ):
                while chunk := response.read(CHUNK):
                    handle.write(chunk)
                    bar.update(len(chunk))
        except (URLError, OSError) as error:
            raise _network_error(url, error) from error
    size = part.stat().st_size
    if total is not None and size != total:
        raise ExportError(f"{url}: incomplete download ({size} of {total} bytes); rerun to resume")
    os.replace(part, dest)
    return True


def fetch_annotations(out_dir: Path, annotations_url: str, *, timeout: float, progress: bool) -> Path:
    """captions_val2017.json in out_dir/annotations, from a .json URL or COCO's annotations zip."""
    target = out_dir / ANNOTATIONS_FILE
    if target.is_file():
        return target
    if annotations_url.lower().endswith(".json"):
        download(annotations_url, target, timeout=timeout, progress=progress)
        return target
    archive = out_dir / Path(annotations_url.rstrip("/")).name
    download(annotations_url, archive, timeout=timeout, progress=progress)
    try:
        with zipfile.ZipFile(archive) as bundle:
            data = bundle.read(ZIP_MEMBER)
    except KeyError as error:
        raise ExportError(f"{archive}: has no {ZIP_MEMBER}; is --base-url a COCO mirror?") from error
    except (zipfile.BadZipFile, OSError) as error:
        raise ExportError(f"{archive}: damaged zip ({error}); delete it and rerun") from error
    write_bytes_atomic(target, data)
    return target


def fetch_coco(
    out_dir: Path,
    *,
    n: int,
    seed: int = DEFAULT_SEED,
    word_filter: str | CaptionFilter | None = None,
    caption: str = "first",
    annotations_url: str = DEFAULT_ANNOTATIONS_URL,
    images_url: str = DEFAULT_IMAGES_URL,
    timeout: float = 30.0,
    progress: bool = True,
) -> FetchResult:
    """Download the captions file and the n images a `coco` dataset with the same options will use."""
    out_dir = Path(out_dir)
    annotations = fetch_annotations(out_dir, annotations_url, timeout=timeout, progress=progress)
    pairs = select_pairs(
        read_annotations(annotations),
        n=n,
        seed=seed,
        caption=caption,
        word_filter=word_filter,
        where=str(annotations),
    )
    folder = out_dir / IMAGES_FOLDER
    base = images_url if images_url.endswith("/") else images_url + "/"
    result = FetchResult(annotations=annotations, images=folder, pairs=pairs)

    def one(pair: CocoPair) -> tuple[str, bool]:
        fetched = download(
            urljoin(base, pair.file_name), folder / pair.file_name, timeout=timeout, progress=False
        )
        return pair.file_name, fetched

    with (
        tqdm(total=len(pairs), unit="image", desc="COCO val2017", disable=not progress) as bar,
        ThreadPoolExecutor(max_workers=WORKERS) as pool,
    ):
        for name, fetched in pool.map(one, pairs):
            (result.downloaded if fetched else result.already_present).append(name)
            bar.update(1)
    return result
