"""Analyses of embeddings: pure numpy / scipy / scikit-learn / umap, no torch.

Every function takes L2-normalisable float arrays (image and text are N x D,
row i of each is pair i) and validates them at the boundary, raising
exporter.errors.ExportError with one line on bad input.
"""

from exporter.analyses.clustering import cluster_order
from exporter.analyses.gap_shift import close_gap, gap_steps, gap_vector, loss_landscape, shift
from exporter.analyses.metrics import contrastive_loss, gap_metrics, sigmoid_loss
from exporter.analyses.projection import METHODS, GapAxes, fit_transform_many, project
from exporter.analyses.retrieval import recall_at_k, top_k
from exporter.analyses.similarity import stacked_similarity
from exporter.analyses.zeroshot import accuracy, classify

__all__ = [
    "METHODS",
    "GapAxes",
    "accuracy",
    "classify",
    "close_gap",
    "cluster_order",
    "contrastive_loss",
    "fit_transform_many",
    "gap_metrics",
    "gap_steps",
    "gap_vector",
    "loss_landscape",
    "project",
    "recall_at_k",
    "shift",
    "sigmoid_loss",
    "stacked_similarity",
    "top_k",
]
