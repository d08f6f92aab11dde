"""A gap measure that is not in the registry: the tests add it to show a new measure reaches the export and the page."""

from exporter.analyses import metrics

FIRST_DIMENSION_GAP = metrics.Measure(
    "first_dimension_gap",
    "dim-0 gap",
    "difference of the modality means in dimension 0",
    4,
    closed=False,
    citation=None,
    compute=lambda s: float(abs(s.img[:, 0].mean() - s.txt[:, 0].mean())),
)
