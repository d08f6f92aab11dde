"""A live bundle (exporter/live) for tests: a random-weight model of the pocket architecture,
exported over a dataset of an existing (fake) export, and added to that export's manifest.

No training and no hub: the weights come from the seed, the images from the export's files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import open_clip
import torch
from PIL import Image

from exporter.config import ModelConfig
from exporter.datasets.base import PairDataset, PairItem
from exporter.live.bundle import write_live_bundle
from exporter.models.base import ModelInfo
from exporter.models.open_clip_model import OpenClipModel
from exporter.pocket.tokenizer import scene_tokenizer
from exporter.pocket.train import build_model
from tests.pocket._tiny import tiny_spec


def random_pocket_model(name: str = "pocket:infonce", seed: int = 5, **spec_overrides) -> OpenClipModel:
    """The pocket architecture at random weights, behind the exporter's model interface."""
    spec = tiny_spec(**spec_overrides)
    tokenizer = scene_tokenizer(spec.context_length)
    clip, _ = build_model(spec, tokenizer, seed)
    with torch.no_grad():
        clip.logit_scale.fill_(float(np.log(20.0)))
    _calibrate_batch_norm(clip)
    preprocess = open_clip.image_transform(spec.image_size, is_train=False)
    info = ModelInfo(
        name=name,
        family="clip",
        objective="infonce",
        weights="random",
        logit_scale=20.0,
        logit_bias=None,
        embed_dim=spec.embed_dim,
        trained=False,
        description="random weights (test)",
        cache_key=f"test-{seed}",
    )
    return OpenClipModel(clip.eval(), preprocess, tokenizer, torch.device("cpu"), info)


def random_open_clip_model(arch: str, name: str | None = None, seed: int = 3) -> OpenClipModel:
    """An open_clip architecture (e.g. the session's tiny ViT) at random weights, with open_clip's
    own tokenizer and eval transform, behind the exporter's model interface."""
    torch.manual_seed(seed)
    clip, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    with torch.no_grad():
        clip.logit_scale.fill_(float(np.log(50.0)))
    info = ModelInfo(
        name=name or f"open_clip:{arch}:random",
        family="clip",
        objective="infonce",
        weights="random",
        logit_scale=50.0,
        logit_bias=None,
        embed_dim=int(clip.text_projection.shape[1]),
        trained=False,
        description="random weights (test)",
        cache_key=f"test-oc-{seed}",
    )
    return OpenClipModel(clip.eval(), preprocess, open_clip.get_tokenizer(arch), torch.device("cpu"), info)


def _calibrate_batch_norm(clip) -> None:
    """Set BatchNorm statistics from a batch of scenes: at initialisation (mean 0, variance 1) a
    random ResNet maps every image to nearly the same vector, which would make a match test weak."""
    from exporter.pocket.scenes import display_pairs
    from exporter.pocket.train import _images_to_uint8, normalise_images

    for module in clip.visual.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # cumulative average: the statistics of exactly this batch
            module.reset_running_stats()
    clip.visual.train()
    with torch.no_grad():
        clip.visual(normalise_images(_images_to_uint8([s.image for s in display_pairs(16)])))
    clip.eval()


def dataset_from_export(data_dir: Path, name: str) -> PairDataset:
    """The export's dataset as PairItems whose images are its thumbnails."""
    folder = Path(data_dir) / "datasets" / name
    items_json = json.loads((folder / "items.json").read_text(encoding="utf-8"))

    def opener(path: Path):
        return lambda: Image.open(path).convert("RGB")

    items = [
        PairItem(id=it["id"], text=it["text"], image=opener(folder / it["image"]), image_key=it["image"])
        for it in items_json["items"]
    ]
    return PairDataset(name=name, kind="test", description="test", items=items)


def add_live_bundle(
    data_dir: Path,
    model_name: str = "pocket:infonce",
    datasets=("shapes",),
    *,
    model=None,
    live="both",
    **kwargs,
):
    """Write live/<slug>/ for a random model (the pocket architecture unless ``model`` is given);
    return (model, datasets, entry)."""
    data_dir = Path(data_dir)
    manifest_file = data_dir / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    slug = next(m["slug"] for m in manifest["models"] if m["name"] == model_name)
    model = model if model is not None else random_pocket_model(model_name)
    found = [dataset_from_export(data_dir, name) for name in datasets]
    vectors = {
        d.name: {
            "image": model.encode_images([it.image() for it in d.items]),
            "text": model.encode_texts([it.text for it in d.items]),
        }
        for d in found
    }
    cfg = ModelConfig(spec=model_name, label=model_name, slug=slug, live=live, **kwargs)
    entry = write_live_bundle(
        model, cfg, found, vectors, data_dir, methods=("gap", "pca"), seed=31415, say=lambda _m: None
    )
    manifest["live"] = [e for e in manifest.get("live", []) if e["model"] != model_name] + [entry]
    manifest_file.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    return model, found, entry
