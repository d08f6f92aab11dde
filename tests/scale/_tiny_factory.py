"""Model factories that Ray workers import: they register the tests' tiny open_clip architecture first."""

from __future__ import annotations

from pathlib import Path

from exporter.errors import ExportError
from exporter.seeds import DEFAULT_SEED


def tiny_model(config_dir: str, spec: str, cache_dir: str):
    import open_clip

    from exporter.models.registry import resolve_model

    open_clip.add_model_config(config_dir)
    return resolve_model(spec, device="cpu", cache_dir=Path(cache_dir), seed=DEFAULT_SEED)


class _FailsOnPurple:
    """The tiny model, except that a caption with 'purple' fails until `flag` exists (a crash mid-run)."""

    def __init__(self, model, flag: Path):
        self.model, self.flag, self.info = model, flag, model.info

    def encode_images(self, images):
        return self.model.encode_images(images)

    def encode_texts(self, texts):
        if any("purple" in text for text in texts) and not self.flag.exists():
            raise ExportError("simulated worker crash")
        return self.model.encode_texts(texts)


def failing_tiny_model(config_dir: str, spec: str, cache_dir: str, flag: str):
    return _FailsOnPurple(tiny_model(config_dir, spec, cache_dir), Path(flag))
