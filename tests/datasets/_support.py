"""Test helpers for dataset configs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cfg:
    """Stands in for exporter.config.DatasetConfig (same attributes)."""

    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
