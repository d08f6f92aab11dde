"""One model's live bundle: what the page needs to run the model itself.

    live/<slug>/live.json      tokenizer, preprocessing, tower files and sizes, and per dataset the
                               exporter's embeddings, centroids and the exact projection frames
    live/<slug>/image.onnx     image tower (pixels -> unit vector)
    live/<slug>/text.onnx      text tower (token ids -> unit vector); text.int8.onnx with live_int8
    live/inputs/<dataset>-<key>.png   every item's image as the model sees it (resized and cropped,
                               before normalisation), in a lossless grid; shared by models whose
                               preprocessing agrees

The embeddings are stored as f4 so the page's own results (a typed caption, a
drawn scene) are compared with exactly the vectors the rest of the article uses.
"""

from __future__ import annotations

import hashlib
import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from exporter.analyses import projection
from exporter.config import ModelConfig
from exporter.contract import encode_array, write_bytes_atomic, write_json_atomic
from exporter.errors import ExportError
from exporter.live.rollout import rollout_payload, rollout_support
from exporter.live.saliency import saliency_payload
from exporter.live.tokenizers import describe_tokenizer
from exporter.live.towers import export_tower

# Projections with an exact linear transform a new point can be placed by (UMAP and t-SNE have none).
LINEAR_METHODS = ("gap", "pca")
SIZE_WARNING_BYTES = 20 * 1024 * 1024


def split_preprocess(preprocess, model_name: str):
    """(PIL -> PIL part, mean, std) of an open_clip eval transform (Compose ending ToTensor, Normalize)."""
    from torchvision import transforms as T

    steps = list(getattr(preprocess, "transforms", []))
    to_tensor = [i for i, s in enumerate(steps) if isinstance(s, T.ToTensor)]
    norms = [s for s in steps if isinstance(s, T.Normalize)]
    if not to_tensor or not norms:
        raise ExportError(
            f"{model_name}: its image preprocessing is not ToTensor + Normalize, which the page implements; "
            'set live = false or live = "text" for this model'
        )
    cut = to_tensor[0]
    normalize = norms[0]
    size = None
    for step in steps[:cut]:
        if isinstance(step, T.CenterCrop):
            size = step.size
    if size is None:
        raise ExportError(f'{model_name}: its image preprocessing has no CenterCrop; set live = "text"')
    size = size[0] if isinstance(size, list | tuple) else size
    return (
        T.Compose(steps[:cut]),
        [float(v) for v in normalize.mean],
        [float(v) for v in normalize.std],
        int(size),
    )


def _model_inputs(pil_part, items) -> list[Image.Image]:
    return [pil_part(item.image().convert("RGB")).convert("RGB") for item in items]


def _grid_png(images: list[Image.Image]) -> tuple[bytes, int]:
    size = images[0].width
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    sheet = Image.new("RGB", (cols * size, rows * size), (0, 0, 0))
    for index, image in enumerate(images):
        sheet.paste(image, ((index % cols) * size, (index // cols) * size))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)  # no gAMA/iCCP chunk: browsers keep the bytes
    return buffer.getvalue(), cols


def _pixels(images: list[Image.Image], mean: list[float], std: list[float]) -> torch.Tensor:
    arr = np.stack([np.asarray(img, dtype=np.uint8) for img in images])
    batch = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div(255.0)
    return (batch - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def projection_frames(
    image: np.ndarray, text: np.ndarray, extra: list[np.ndarray], methods, seed: int
) -> dict:
    """Per linear method, ``point = axes @ x + bias``: the same numbers projections.json holds."""
    frames = {}
    for method in methods:
        if method in LINEAR_METHODS:
            axes, bias = projection.linear_frame(method, image, text, extra, seed=seed)
            frames[method] = {"axes": encode_array(axes, "f4"), "bias": [float(b) for b in bias]}
    return frames


def write_live_bundle(
    model,
    cfg: ModelConfig,
    datasets: list,
    vectors: dict[str, dict[str, np.ndarray]],
    out: Path,
    *,
    methods,
    seed: int,
    say=print,
    descriptions: dict[str, tuple[str, ...]] | None = None,
) -> dict:
    """Write live/<slug>/ for one model; return its manifest entry.

    ``vectors``: dataset name -> modality -> the exporter's (N x D) embeddings.
    ``descriptions``: dataset name -> configured saliency descriptions (Grad-CAM targets).
    """
    info = model.info
    clip = getattr(model, "model", None)
    if clip is None or not hasattr(clip, "encode_text"):
        raise ExportError(f"{cfg.spec}: it has no encoders to export for the page; set live = false for it")
    folder = out / "live" / cfg.slug
    rel = f"live/{cfg.slug}"
    tokenizer = describe_tokenizer(model.tokenizer, cfg.spec, out)
    clip = clip.to("cpu").eval()
    towers: dict[str, dict] = {}

    probe_texts = [item.text for item in datasets[0].items[:8]] if datasets else ["a red circle"]
    tokens = model.tokenizer(probe_texts).to("cpu")
    text_name = "text.int8.onnx" if cfg.live_int8 else "text.onnx"
    written = export_tower("text", clip, tokens, folder / text_name, int8=cfg.live_int8, model_name=cfg.spec)
    towers["text"] = {"file": f"{rel}/{text_name}", "input": "tokens", "int8": cfg.live_int8, **written}

    image_entry = None
    if cfg.live == "both":
        pil_part, mean, std, size = split_preprocess(model.preprocess, cfg.spec)
        image_entry = {"size": size, "mean": mean, "std": std}
        image_datasets = [d for d in datasets if "image" in d.modalities and d.items[0].image is not None]
        probe = (
            _pixels(_model_inputs(pil_part, image_datasets[0].items[:4]), mean, std)
            if image_datasets
            else torch.zeros(1, 3, size, size)
        )
        written = export_tower("image", clip, probe, folder / "image.onnx", model_name=cfg.spec)
        towers["image"] = {"file": f"{rel}/image.onnx", "input": "pixels", "int8": False, **written}
    total = sum(t["bytes"] for t in towers.values())
    if total > SIZE_WARNING_BYTES:
        say(
            f"  warning: {cfg.spec}'s towers for the page weigh {total / 2**20:.0f} MB; readers download them on first use (live_int8 = true shrinks the text tower about 4x)"
        )

    per_dataset = {}
    pointing: dict[str, dict] = {}
    for dataset in datasets:
        found = vectors[dataset.name]
        blocks = [np.asarray(found[m], dtype=np.float64) for m in dataset.modalities]
        image, text, extra = blocks[0], blocks[1], blocks[2:]
        entry = {
            "n": len(dataset.items),
            "image": encode_array(image.astype(np.float32), "f4"),
            "text": encode_array(text.astype(np.float32), "f4"),
            "centroids": {
                "image": [float(v) for v in image.mean(0)],
                "text": [float(v) for v in text.mean(0)],
            },
            "projections": projection_frames(image, text, extra, methods, seed),
        }
        if image_entry is not None and dataset.items[0].image is not None:
            inputs = _model_inputs(pil_part, dataset.items)
            png, cols = _grid_png(inputs)
            key = hashlib.sha256(png).hexdigest()[:12]
            sheet = f"live/inputs/{dataset.name}-{key}.png"
            if not (out / sheet).exists():
                write_bytes_atomic(out / sheet, png)
            entry["inputs"] = {"file": sheet, "cols": cols, "size": image_entry["size"]}
            if _has_resnet_tower(clip):
                payload, summary = saliency_payload(
                    model,
                    dataset,
                    _pixels(inputs, mean, std),
                    seed=seed,
                    descriptions=(descriptions or {}).get(dataset.name, ()),
                )
                write_json_atomic(folder / f"saliency-{dataset.name}.json", payload)
                entry["saliency"] = f"{rel}/saliency-{dataset.name}.json"
                if summary is not None:
                    pointing[dataset.name] = summary
            elif hasattr(clip.visual, "class_embedding"):  # a ViT: attention rollout (text-independent)
                why = rollout_support(clip.visual)
                if why:
                    say(f"  {cfg.spec}: no attention rollout for {dataset.name} ({why})")
                else:
                    payload = rollout_payload(clip, dataset, _pixels(inputs, mean, std))
                    write_json_atomic(folder / f"saliency-{dataset.name}.json", payload)
                    entry["saliency"] = f"{rel}/saliency-{dataset.name}.json"
        per_dataset[dataset.name] = entry

    payload = {
        "model": cfg.spec,
        "slug": cfg.slug,
        "logit_scale": float(info.logit_scale),
        "logit_bias": None if info.logit_bias is None else float(info.logit_bias),
        "embed_dim": int(info.embed_dim),
        "tokenizer": tokenizer,
        "image": image_entry,
        "towers": towers,
        "datasets": per_dataset,
    }
    write_json_atomic(folder / "live.json", payload, schema="live")
    entry = {
        "model": cfg.spec,
        "file": f"{rel}/live.json",
        "towers": sorted(towers),
        "bytes": int(total),
    }
    if pointing:
        entry["pointing_game"] = pointing
    return entry


def _has_resnet_tower(clip) -> bool:
    return hasattr(clip.visual, "attnpool") and hasattr(clip.visual, "layer4")


def export_live(
    model,
    cfg: ModelConfig,
    datasets: list,
    out: Path,
    options,
    *,
    cache_dir: Path,
    say=print,
    descriptions: dict[str, tuple[str, ...]] | None = None,
) -> dict:
    """The pipeline's entry: embed (from the cache the pipeline just filled) and write the bundle."""
    from exporter.embed import embed_dataset

    vectors = {
        d.name: embed_dataset(model, d, cache_dir=cache_dir, batch_size=options.batch_size, progress=False)
        for d in datasets
    }
    say(f"  {cfg.spec}: towers for the page ({cfg.live})")
    return write_live_bundle(
        model,
        cfg,
        datasets,
        vectors,
        out,
        methods=options.projections,
        seed=options.seed,
        say=say,
        descriptions=descriptions,
    )


def kept_live_entries(out_dir: Path, only) -> list[dict]:
    """With --only, the previous manifest's live entries (their files are carried over with the rest)."""
    import json

    manifest = Path(out_dir) / "manifest.json"
    if only is None or not manifest.exists():
        return []
    return list(json.loads(manifest.read_text(encoding="utf-8")).get("live", []))
