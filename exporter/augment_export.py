"""Writing augmentation series into an export: results/<slug>/<dataset>/augmentation.json
and the manifest's "augmentations" entries (one per model and dataset or series)."""

from __future__ import annotations

from pathlib import Path

from exporter.augment import (
    augment_series,
    augmentation_payload,
    check_augmentations,
    curves_entry,
    load_series_folder,
    precomputed_series,
)
from exporter.config import ModelConfig, SeriesConfig, model_slug
from exporter.contract import write_json_atomic
from exporter.datasets.base import open_rgb
from exporter.errors import ExportError
from exporter.thumbnails import write_thumbnail


def export_dataset_series(model, cfg: ModelConfig, dataset, out: Path, options) -> dict:
    """Our own series: the first augment_bases items of an image dataset, for one model."""
    items = [item for item in dataset.items if item.image is not None][: options.augment_bases]
    if not items:
        raise ExportError(f"augment_datasets names '{dataset.name}', which has no images to augment")
    entries = [
        curves_entry(augmentation, values, original, curves)
        for augmentation, values, original, curves in augment_series(
            model,
            items,
            check_augmentations(options.augmentations),
            steps=options.augment_steps,
            batch_size=options.batch_size,
            seed=options.seed,
        )
    ]
    rel = f"results/{cfg.slug}/{dataset.name}/augmentation.json"
    payload = augmentation_payload(
        cfg.spec,
        dataset.name,
        [item.id for item in items],
        entries,
        f"{len(items)} images of '{dataset.name}', {options.augment_steps} steps each, embedded by {cfg.label}",
    )
    write_json_atomic(out / rel, payload, schema="augmentation")
    return {"model": cfg.spec, "label": cfg.label, "dataset": dataset.name, "file": rel, "shared_frame": True}


def export_precomputed_series(
    series_cfg: SeriesConfig, out: Path, thumbnail_px: int
) -> tuple[dict, list[dict]]:
    """A precomputed series folder: its base images as a dataset entry, one result per model."""
    series = load_series_folder(series_cfg.path)
    folder = out / "datasets" / series_cfg.name
    items = []
    for base in series.meta["bases"]:
        image = None
        if base.get("image"):
            image = "thumbs/" + write_thumbnail(
                open_rgb(series.root / base["image"]), folder / "thumbs", thumbnail_px
            )
        entry = {"id": str(base["id"]), "text": str(base["text"]), "image": image, "label": None}
        if base.get("credit"):
            entry["extra"] = {"credit": str(base["credit"])}
        items.append(entry)
    payload = {
        "dataset": series_cfg.name,
        "n": len(items),
        "modalities": ["image", "text"],
        "items": items,
        "classes": None,
    }
    write_json_atomic(folder / "items.json", payload, schema="items")
    dataset_entry = {
        "name": series_cfg.name,
        "kind": "augmentation_series",
        "n": len(items),
        "modalities": ["image", "text"],
        "items": f"datasets/{series_cfg.name}/items.json",
        "has_labels": False,
        "description": series_cfg.description or str(series.meta.get("description", "")),
    }
    results = []
    for model_folder, meta in series.models.items():
        name = f"{series_cfg.name}:{model_folder}"
        label = str(meta.get("label") or meta.get("name") or model_folder)
        entries = [
            curves_entry(augmentation, values, original, curves)
            | {"label": str(spec.get("label", augmentation.label))}
            for augmentation, values, original, curves, spec in precomputed_series(series, model_folder)
        ]
        rel = f"results/{model_slug(name)}/{series_cfg.name}/augmentation.json"
        source = str(
            meta.get("source") or series.meta.get("source") or f"precomputed series in {series_cfg.path}"
        )
        write_json_atomic(
            out / rel,
            augmentation_payload(
                name, series_cfg.name, [str(b["id"]) for b in series.meta["bases"]], entries, source
            ),
            schema="augmentation",
        )
        results.append(
            {"model": name, "label": label, "dataset": series_cfg.name, "file": rel, "shared_frame": False}
        )
    return dataset_entry, results
