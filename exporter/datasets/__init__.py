"""Pair sources: samples, shapes, pairs (jsonl/csv), coco, embeddings."""

from exporter.datasets.base import PairDataset, PairItem
from exporter.datasets.registry import DATASET_KINDS, list_dataset_kinds, load_dataset

__all__ = ["DATASET_KINDS", "PairDataset", "PairItem", "list_dataset_kinds", "load_dataset"]
