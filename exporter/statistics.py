"""Statistics over every pair, figures over a sample: the export's two scopes.

The manifest's `metrics` of a (model, dataset) are measured over all N pairs
(analyses.streaming, blockwise) with bootstrap intervals in `statistics`;
the figure files (similarity, projections, retrieval lists, gap steps,
landscape, zero-shot probabilities) are computed over the figure sample,
drawn by exporter.sampling when N exceeds the author's `figure_pairs`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exporter.analyses import streaming
from exporter.errors import ExportError
from exporter.sampling import figure_sample

CLOSED_KEYS = ("centroid_distance", "loss_i2t", "loss_t2i", "recall_i2t", "recall_t2i")


def figure_view(dataset, options):
    """The dataset itself when it fits `figure_pairs`, else a copy holding the seeded sample."""
    indices = figure_sample([item.label for item in dataset.items], options.figure_pairs, seed=options.seed)
    if indices is None:
        return dataset
    return dataclasses.replace(dataset, items=[dataset.items[i] for i in indices])


def sample_entry(entry: dict, full, shown) -> dict:
    """The manifest's dataset entry says how many pairs the statistics cover and whether figures sample."""
    entry["n_all"] = len(full.items)
    if shown is not full:
        entry["sample"] = {"n": len(shown.items), "stratified_by": "label" if full.classes else None}
    return entry


# What a reader should have to download for one model on one dataset (issue 15's budget per dataset).
WEB_BUDGET_BYTES = 30 * 10**6


def heavy_result_warning(spec: str, dataset: str, folder, pairs: int) -> str | None:
    """A warning line when a result's files outweigh the budget: the figure sample sets their size."""
    budget = WEB_BUDGET_BYTES
    weight = sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())
    if weight <= budget:
        return None
    return (
        f"  warning: {spec} x {dataset}: the figure files weigh {weight / 1e6:.0f} MB for {pairs:,} pairs, more "
        f"than the {budget / 1e6:.0f} MB a reader should download; set figure_pairs lower (the statistics "
        "still cover every pair)"
    )


def sample_rows(full, shown) -> np.ndarray | slice:
    """Rows of the full embeddings that hold the shown pairs, in the shown order."""
    if shown is full:
        return slice(None)
    position = {item.id: row for row, item in enumerate(full.items)}
    missing = [item.id for item in shown.items if item.id not in position]
    if missing:
        raise ExportError(
            f"dataset '{full.name}': sampled pair '{missing[0]}' was dropped while embedding; "
            "fix its image or remove it from the dataset"
        )
    return np.array([position[item.id] for item in shown.items], dtype=np.int64)


def close_gap(image: np.ndarray, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gap_shift.close_gap(fraction=1) in float32: each modality moves half the gap vector, renormalised."""
    half = (image.mean(axis=0, dtype=np.float64) - text.mean(axis=0, dtype=np.float64)) / 2.0
    moved = []
    for rows, offset in ((image, -half), (text, half)):
        shifted = rows + offset.astype(np.float32)
        shifted /= np.linalg.norm(shifted, axis=1, keepdims=True)
        moved.append(shifted)
    return moved[0], moved[1]


@dataclass
class Measured:
    n: int
    values: dict
    intervals: dict
    closed: dict
    closed_intervals: dict
    resamples: int
    confidence: float

    def entry(self, *, separability_n: int) -> dict:
        """The result's `statistics` entry of the manifest."""
        return {
            "n": self.n,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "intervals": self.intervals,
            "closed_intervals": self.closed_intervals,
            "separability_n": int(separability_n),
        }


def measure_all_pairs(vectors: dict[str, np.ndarray], dataset, info, options) -> Measured:
    """Point values and intervals over every pair, on the original and the gap-closed space."""
    block_map = None
    if options.engine == "ray":
        # The N x N pass is the analysis that outgrows one machine: its blocks go to the same cluster.
        from exporter.distributed import connect, ray_block_map

        connect(options.ray_address, options.ray_workers or os.cpu_count() or 1)
        block_map = ray_block_map
    return measure_pairs(
        vectors[dataset.modalities[0]],
        vectors[dataset.modalities[1]],
        logit_scale=info.logit_scale,
        logit_bias=info.logit_bias,
        resamples=options.bootstrap,
        confidence=options.confidence,
        seed=options.seed,
        block_map=block_map,
    )


def measure_pairs(
    image_rows, text_rows, *, logit_scale, logit_bias, resamples, confidence, seed, block_map=None
) -> Measured:
    """measure_all_pairs on two arrays of paired rows (also the synthetic export's statistics)."""
    image = streaming.unit_rows(image_rows, "image")
    text = streaming.unit_rows(text_rows, "text")
    kwargs = {
        "logit_scale": logit_scale,
        "logit_bias": logit_bias,
        "resamples": resamples,
        "confidence": confidence,
        "seed": seed,
        "block_map": block_map,
    }
    values, intervals = streaming.dataset_statistics(image, text, **kwargs)
    closed_image, closed_text = close_gap(image, text)
    closed_values, closed_intervals = streaming.dataset_statistics(closed_image, closed_text, **kwargs)
    return Measured(
        n=int(image.shape[0]),
        values=values,
        intervals=intervals,
        closed={key: closed_values[key] for key in CLOSED_KEYS},
        closed_intervals={key: closed_intervals[key] for key in CLOSED_KEYS},
        resamples=int(resamples),
        confidence=float(confidence),
    )
