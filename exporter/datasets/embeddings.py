"""`embeddings`: vectors computed elsewhere (ImageBind audio, CLOOME molecules, ...).

Layout:
    <path>/pairs.jsonl                 id, text, optional image (relative path), optional label
    <path>/<model>/<modality>.npy      N x D float, row i = pair i
      or <model>/similarity.npy|.csv   kN x kN cosine similarities of the stacked embeddings
                                       (modality-major); the embeddings are recovered from it
                                       (exporter.gram), up to a rotation every analysis ignores
    <path>/<model>/model.json          optional: name, temperature or logit_scale, logit_bias, family,
                                       modalities (stacked order of a similarity file; default image, text)

Every model folder must cover the same modalities; vectors are validated
(row counts, finite values, one dimension per model) when the dataset loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from exporter.datasets.base import PairDataset, check_unknown_options, classes_from_labels, option
from exporter.datasets.pairs_folder import collect_items
from exporter.errors import ExportError

PRIMARY_ORDER = ("image", "text")


def order_modalities(names: set[str]) -> tuple[str, ...]:
    """image, text first (the stacked order figures expect), then the rest alphabetically."""
    return tuple([m for m in PRIMARY_ORDER if m in names] + sorted(names - set(PRIMARY_ORDER)))


SIMILARITY_FILES = ("similarity.npy", "similarity.csv")


def similarity_file(folder: Path) -> Path | None:
    found = [folder / name for name in SIMILARITY_FILES if (folder / name).is_file()]
    if len(found) > 1:
        raise ExportError(f"{folder}: both similarity.npy and similarity.csv; keep one")
    return found[0] if found else None


def recovered_vectors(folder: Path, path: Path) -> dict[str, np.ndarray]:
    """Embeddings (up to rotation) from a model's similarity file, split by model.json's modalities."""
    from exporter.gram import read_similarity_file, recover_embeddings, split_modalities

    meta = read_model_json(folder)
    modalities = meta.get("modalities", list(PRIMARY_ORDER))
    if (
        not isinstance(modalities, list)
        or len(modalities) < 2
        or not all(isinstance(m, str) and m for m in modalities)
        or len(set(modalities)) != len(modalities)
    ):
        raise ExportError(
            f"{folder / 'model.json'}: 'modalities' must list two or more distinct names in stacked order, "
            f'e.g. ["image", "text"]'
        )
    recovery = recover_embeddings(read_similarity_file(path), name=str(path))
    return split_modalities(recovery.vectors, tuple(modalities), name=str(path))


def load_vectors(folder: Path, expected_rows: int | None = None) -> dict[str, np.ndarray]:
    """Every <modality>.npy of a model folder (or its recovered similarity file), validated;
    float32, not yet normalised."""
    gram_file = similarity_file(folder)
    files = sorted(p for p in folder.glob("*.npy") if p.name not in SIMILARITY_FILES)
    if gram_file is not None:
        if files:
            raise ExportError(
                f"{folder}: holds both {gram_file.name} and <modality>.npy files; keep one of the two forms"
            )
        return _validated(folder, recovered_vectors(folder, gram_file), expected_rows, gram_file)
    if not files:
        raise ExportError(
            f"{folder}: no <modality>.npy files; save one N x D array per modality (e.g. image.npy)"
        )
    vectors: dict[str, np.ndarray] = {}
    for path in files:
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ExportError(
                f"{path}: not a readable .npy array ({error}); save it with numpy.save"
            ) from error
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
            raise ExportError(
                f"{path}: expected a 2-D float array (N x D), got {array.dtype} with shape {array.shape}"
            )
        vectors[path.stem] = array
    return _validated(folder, vectors, expected_rows, None)


def _validated(
    folder: Path, vectors: dict[str, np.ndarray], expected_rows: int | None, source: Path | None
) -> dict[str, np.ndarray]:
    """Rows line up with the pairs, values are finite and non-zero, one dimension for all."""
    dims: set[int] = set()
    for modality, array in vectors.items():
        path = source or folder / f"{modality}.npy"
        if expected_rows is not None and array.shape[0] != expected_rows:
            raise ExportError(
                f"{path}: {array.shape[0]} rows{f' of {modality}' if source else ''} but pairs.jsonl lists "
                f"{expected_rows} pairs; row i must be pair i"
            )
        if not np.all(np.isfinite(array)):
            bad = int(np.argwhere(~np.isfinite(array))[0][0])
            raise ExportError(
                f"{path}: row {bad} contains NaN or infinite values; recompute those embeddings"
            )
        if np.any(np.linalg.norm(array.astype(np.float64), axis=1) == 0):
            raise ExportError(f"{path}: contains an all-zero row, which has no direction; recompute it")
        dims.add(array.shape[1])
        vectors[modality] = array.astype(np.float32)
    if len(dims) > 1:
        shapes = ", ".join(f"{m}: {v.shape[1]}" for m, v in vectors.items())
        raise ExportError(
            f"{folder}: modalities have different dimensions ({shapes}); they must share one space"
        )
    rows = {v.shape[0] for v in vectors.values()}
    if len(rows) > 1:
        raise ExportError(
            f"{folder}: modalities have different row counts {sorted(rows)}; each row must be one pair"
        )
    return vectors


def read_model_json(folder: Path) -> dict[str, Any]:
    path = folder / "model.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ExportError(f"{path}: malformed JSON ({error}); fix the file") from error
    if not isinstance(data, dict):
        raise ExportError(f"{path}: must be a JSON object with name, temperature or logit_scale, ...")
    return data


def model_folders(root: Path) -> list[Path]:
    return sorted(
        p for p in root.iterdir() if p.is_dir() and (any(p.glob("*.npy")) or similarity_file(p) is not None)
    )


def load_embeddings_folder(
    name: str, options: dict[str, Any], *, seed: int, skip_bad: bool = False
) -> PairDataset:
    where = f"dataset '{name}' (embeddings)"
    check_unknown_options(options, {"path", "description"}, where)
    path_text = option(options, "path", str, None, where)
    if not path_text:
        raise ExportError(
            f"{where}: missing option 'path' (a folder with pairs.jsonl and one folder per model)"
        )
    root = Path(path_text).expanduser()
    pairs_file = root / "pairs.jsonl"
    if not pairs_file.is_file():
        raise ExportError(
            f"{where}: {pairs_file} not found; list the pairs (id, text, optional image, label) there"
        )
    # Rows cannot be skipped here: the vectors are aligned with the file's rows.
    items, _ = collect_items(pairs_file, skip_bad=False, need_image=False)
    folders = model_folders(root)
    if not folders:
        raise ExportError(f"{where}: {root} has no model folder with <modality>.npy files")
    precomputed: dict[str, dict[str, np.ndarray]] = {}
    modalities: tuple[str, ...] | None = None
    for folder in folders:
        vectors = load_vectors(folder, expected_rows=len(items))
        these = order_modalities(set(vectors))
        if modalities is None:
            modalities = these
        elif these != modalities:
            raise ExportError(
                f"{folder}: modalities {', '.join(these)} differ from {folders[0].name}'s {', '.join(modalities)}; "
                "every model folder must cover the same modalities"
            )
        precomputed[folder.name] = vectors
    assert modalities is not None
    if len(modalities) < 2:
        raise ExportError(
            f"{where}: only modality '{modalities[0]}' found; pairs need at least two (.npy files)"
        )
    return PairDataset(
        name=name,
        kind="embeddings",
        description=options.get("description", f"Precomputed embeddings from {root.name}"),
        items=items,
        modalities=modalities,
        classes=classes_from_labels(items),
        precomputed=precomputed,
    )
