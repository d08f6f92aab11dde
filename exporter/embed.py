"""Batched embedding with an on-disk cache that survives an interrupted export.

Cache layout: <cache_dir>/embeddings/<model cache_key>/<modality>/<batch hash>.npz,
each file holding the content keys of one batch and their vectors. A batch is
written atomically as soon as it is computed, so an export killed half-way
re-encodes only the batches it had not finished. Keys are content hashes
(image bytes, caption text) and the model's cache_key covers its weights and
preprocessing, so a changed image, caption or checkpoint is recomputed while
renamed or re-ordered items are not.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from exporter.contract import write_bytes_atomic
from exporter.datasets.base import PairDataset, PairItem, text_key
from exporter.errors import ExportError
from exporter.models.base import EmbeddingModel

CACHE_FORMAT = "v1"  # bump when the cache file layout changes


def _content_key(modality: str, item: PairItem) -> str:
    if modality == "image":
        return f"image:{item.image_key}"
    if modality == "text":
        return f"text:{text_key(item.text)}"
    raise ExportError(f"modality '{modality}' has no encoder; precomputed embeddings must supply it")


def _cache_folder(cache_dir: Path, model: EmbeddingModel, modality: str) -> Path:
    return Path(cache_dir) / "embeddings" / f"{CACHE_FORMAT}-{model.info.cache_key}" / modality


def _read_cache(folder: Path) -> dict[str, np.ndarray]:
    """All vectors cached for one model and modality; unreadable files are ignored (recomputed)."""
    found: dict[str, np.ndarray] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            continue  # a damaged batch file is just a cache miss
        if vectors.ndim != 2 or len(keys) != len(vectors) or not np.all(np.isfinite(vectors)):
            continue
        for key, vector in zip(keys.tolist(), vectors, strict=True):
            found[str(key)] = vector
    return found


def _write_batch(folder: Path, keys: Sequence[str], vectors: np.ndarray) -> None:
    digest = hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()[:24]
    buffer = io.BytesIO()
    np.savez(buffer, keys=np.array(list(keys), dtype=np.str_), vectors=np.asarray(vectors, dtype=np.float32))
    write_bytes_atomic(folder / f"{digest}.npz", buffer.getvalue())


def _check_vectors(vectors: Any, expected_rows: int, model: EmbeddingModel, modality: str) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    name = model.info.name
    if array.ndim != 2 or array.shape[0] != expected_rows:
        raise ExportError(
            f"model '{name}': {modality} encoder returned shape {array.shape} for {expected_rows} inputs; "
            "it must return one row per input"
        )
    if not np.all(np.isfinite(array)):
        raise ExportError(
            f"model '{name}': produced NaN or infinite {modality} embeddings; check its weights"
        )
    norms = np.linalg.norm(array.astype(np.float64), axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ExportError(f"model '{name}': produced an all-zero {modality} embedding; check its weights")
    return (array / norms).astype(np.float32)


def _load_images(items: list[PairItem], dataset: PairDataset, skip_bad: bool) -> tuple[list, dict[int, str]]:
    """Open a batch of images; with skip_bad, return the positions that failed instead of raising."""
    images: list = []
    bad: dict[int, str] = {}
    for position, item in enumerate(items):
        if item.image is None:
            raise ExportError(
                f"dataset '{dataset.name}': item '{item.id}' has no image; an image model needs one per pair"
            )
        try:
            images.append(item.image())
        except ExportError as error:
            if not skip_bad:
                raise
            bad[position] = str(error)
    return images, bad


def _embed_modality(
    model: EmbeddingModel,
    dataset: PairDataset,
    modality: str,
    *,
    cache_dir: Path,
    batch_size: int,
    skip_bad: bool,
    progress: bool,
    bad_ids: dict[str, str],
) -> dict[str, np.ndarray]:
    """Vectors by content key for every item of one modality, encoding only cache misses."""
    folder = _cache_folder(cache_dir, model, modality)
    cached = _read_cache(folder)
    missing: list[PairItem] = []
    seen: set[str] = set()
    for item in dataset.items:
        key = _content_key(modality, item)
        if key not in cached and key not in seen:
            seen.add(key)
            missing.append(item)
    encode: Callable[[list[Any]], np.ndarray]
    encode = model.encode_images if modality == "image" else model.encode_texts
    with tqdm(
        total=len(missing),
        desc=f"{model.info.name} {modality}",
        unit=modality,
        disable=not progress or not missing,
        leave=False,
    ) as bar:
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            if modality == "image":
                inputs, bad = _load_images(batch, dataset, skip_bad)
                for position, message in bad.items():
                    bad_ids[_content_key(modality, batch[position])] = message
                batch = [item for position, item in enumerate(batch) if position not in bad]
            else:
                inputs = [item.text for item in batch]
            if batch:
                vectors = _check_vectors(encode(inputs), len(batch), model, modality)
                keys = [_content_key(modality, item) for item in batch]
                _write_batch(folder, keys, vectors)
                cached.update(zip(keys, vectors, strict=True))
            bar.update(len(missing[start : start + batch_size]))
    return cached


def embed_dataset(
    model: EmbeddingModel,
    dataset: PairDataset,
    *,
    cache_dir: Path,
    batch_size: int = 64,
    skip_bad: bool = False,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Embed every modality of a dataset: modality -> (N x D) L2-normalised float32.

    With skip_bad, pairs whose image cannot be read are removed from
    dataset.items (pairs must stay aligned across modalities) and listed in
    dataset.skipped; otherwise the first bad file raises ExportError naming it.
    """
    if batch_size < 1:
        raise ExportError(f"batch_size must be at least 1, got {batch_size}")
    can = model.info.capabilities
    if can.precomputed_vectors:
        return model.precomputed_vectors(dataset)
    encoders = {"image": can.encode_images, "text": can.encode_texts}
    for modality in dataset.modalities:
        if not encoders.get(modality, False):
            raise ExportError(
                f"dataset '{dataset.name}': modality '{modality}' has no encoder in model '{model.info.name}'; "
                "use an embeddings:<folder> model for it"
            )
    bad_ids: dict[str, str] = {}
    by_key: dict[str, dict[str, np.ndarray]] = {}
    # Images first: they are the ones that can be unreadable, and dropping a pair
    # before its caption is embedded keeps the two lists aligned.
    for modality in sorted(dataset.modalities, key=lambda m: m != "image"):
        by_key[modality] = _embed_modality(
            model,
            dataset,
            modality,
            cache_dir=cache_dir,
            batch_size=batch_size,
            skip_bad=skip_bad,
            progress=progress,
            bad_ids=bad_ids,
        )
        if bad_ids:
            # Keyed by content, so every pair sharing a bad image goes, not just the first.
            dropped = [item for item in dataset.items if _content_key(modality, item) in bad_ids]
            dataset.skipped.extend(
                f"{item.id}: {bad_ids[_content_key(modality, item)]} (skipped)" for item in dropped
            )
            dataset.items[:] = [item for item in dataset.items if _content_key(modality, item) not in bad_ids]
            bad_ids.clear()
    if not dataset.items:
        raise ExportError(f"dataset '{dataset.name}': every pair was skipped; nothing left to embed")
    result: dict[str, np.ndarray] = {}
    for modality in dataset.modalities:
        rows = [by_key[modality][_content_key(modality, item)] for item in dataset.items]
        result[modality] = _check_vectors(np.stack(rows), len(rows), model, modality)
    return result
