"""`samples`: real photographs that ship inside the scikit-image wheel.

Only files present in the installed package are used (never the pooch
downloads of skimage.data), so this dataset works offline. Captions and
coarse labels are ours, in samples.json beside this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exporter.datasets.base import (
    PairDataset,
    PairItem,
    check_unknown_options,
    image_loader,
    option,
    sha256_file,
)
from exporter.errors import ExportError

SAMPLES_FILE = Path(__file__).with_name("samples.json")


def skimage_data_dir() -> Path:
    try:
        import skimage.data
    except ImportError as error:
        raise ExportError(
            "dataset kind 'samples' needs scikit-image; install the export extra (pip install -e '.[export]')"
        ) from error
    return Path(skimage.data.__file__).parent


def load_samples(name: str, options: dict[str, Any], *, seed: int, skip_bad: bool = False) -> PairDataset:
    where = f"dataset '{name}' (samples)"
    check_unknown_options(options, {"n", "description"}, where)
    spec = json.loads(SAMPLES_FILE.read_text(encoding="utf-8"))
    entries = spec["items"]
    n = option(options, "n", int, len(entries), where)
    if n < 1 or n > len(entries):
        raise ExportError(f"{where}: option 'n' must be between 1 and {len(entries)}, got {n}")
    folder = skimage_data_dir()
    items: list[PairItem] = []
    skipped: list[str] = []
    for entry in entries[:n]:
        path = folder / entry["file"]
        if not path.is_file():
            message = (
                f"{path}: sample image missing from the installed scikit-image; reinstall scikit-image>=0.22"
            )
            if skip_bad:
                skipped.append(message)
                continue
            raise ExportError(message)
        items.append(
            PairItem(
                id=entry["id"],
                text=entry["text"],
                image=image_loader(path),
                image_key=sha256_file(path),
                label=entry["label"],
            )
        )
    used = {item.label for item in items}
    return PairDataset(
        name=name,
        kind="samples",
        description=options.get("description", spec["description"]),
        items=items,
        classes=[c for c in spec["classes"] if c in used],
        skipped=skipped,
    )
