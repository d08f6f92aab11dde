"""Grad-CAM saliency of a ResNet image tower with a text embedding as the target, and the
pointing game on generated scenes (where every object's box is known).

Grad-CAM (Selvaraju et al.), as miniClip applies it to CLIP: the score is the cosine between
the image embedding and a description's embedding; the map is the ReLU of the layer's
activations weighted by the spatial mean of the score's gradient. The layer is the last one
whose grid is at least 7 x 7, the resolution miniClip's ResNet-50 layer4 has at 224 px:
for the 64 px pocket towers that is layer2 (8 x 8).

Pointing game (Zhang et al.): a map "hits" when its peak lies inside the named object's box
(grown by a small tolerance). Chance is the mean share of the image the boxes cover.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from exporter.errors import ExportError

MIN_GRID = 7
TOLERANCE_PX = 2.0


def gradcam_layer(visual: torch.nn.Module, image_size: int) -> tuple[str, int]:
    """(name, grid) of the last ResNet stage whose output grid is at least MIN_GRID wide."""
    stages = [n for n in ("layer1", "layer2", "layer3", "layer4") if hasattr(visual, n)]
    if not stages or not hasattr(visual, "attnpool"):
        raise ExportError("Grad-CAM needs a ResNet image tower (open_clip ModifiedResNet); this one is not")
    grids = {}
    probe = torch.zeros(1, 3, image_size, image_size)
    hooks = [
        getattr(visual, n).register_forward_hook(lambda m, i, o, n=n: grids.__setitem__(n, o.shape[-1]))
        for n in stages
    ]
    try:
        with torch.no_grad():
            visual(probe)
    finally:
        for h in hooks:
            h.remove()
    usable = [n for n in stages if grids[n] >= MIN_GRID]
    name = usable[-1] if usable else stages[0]
    return name, int(grids[name])


def gradcam(clip: torch.nn.Module, pixels: torch.Tensor, texts: torch.Tensor, layer: str) -> np.ndarray:
    """Maps (B, g, g) in [0, 1] (each divided by its maximum; all-zero when nothing is positive).

    ``pixels`` (B, 3, S, S) normalised; ``texts`` (B, D) unit vectors, one target per image.
    """
    store: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output):
        output.retain_grad()
        store["a"] = output

    hook = getattr(clip.visual, layer).register_forward_hook(keep)
    try:
        clip.eval()
        with torch.enable_grad():
            image = F.normalize(clip.encode_image(pixels.clone().requires_grad_(True)), dim=-1)
            score = (image * texts).sum()
            score.backward()
    finally:
        hook.remove()
        clip.zero_grad(set_to_none=True)
    acts, grads = store["a"].detach(), store["a"].grad.detach()
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * acts).sum(dim=1)).numpy().astype(np.float64)
    peak = cam.reshape(cam.shape[0], -1).max(axis=1)
    return cam / np.where(peak > 0, peak, 1.0)[:, None, None]


def upsample(cam: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of (B, g, g) maps to (B, size, size), as the page draws them."""
    t = torch.from_numpy(cam).float()[:, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy()


def peak_of(full: np.ndarray) -> tuple[float, float]:
    """(x, y) pixel centre of the maximum of one (size, size) map."""
    at = int(np.argmax(full))
    return at % full.shape[1] + 0.5, at // full.shape[1] + 0.5


def object_box(obj, tolerance: float = TOLERANCE_PX) -> list[float]:
    return [
        obj.x - obj.radius - tolerance,
        obj.y - obj.radius - tolerance,
        obj.x + obj.radius + tolerance,
        obj.y + obj.radius + tolerance,
    ]


def inside(point: tuple[float, float], box: list[float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def _scene_of(item, seed: int):
    """The generated scene behind a `shapes` item (its id is "<split>-<index>"), or None."""
    from exporter.pocket.scenes import SPLITS, make_scene

    split, _, index = item.id.rpartition("-")
    if split not in SPLITS or not index.isdigit():
        return None
    scene = make_scene(int(index), split=split, seed=seed)
    return scene if scene.caption == item.text else None


def description_list(dataset, configured=()) -> list[str]:
    """One description per class ("a circle"), then the configured ones, each once."""
    out: list[str] = []
    for text in [f"a {c}" for c in (dataset.classes or [])] + list(configured):
        if text not in out:
            out.append(text)
    return out


def saliency_payload(
    model, dataset, pixels: torch.Tensor, *, seed: int, descriptions=()
) -> tuple[dict, dict | None]:
    """Grad-CAM maps of every item for its own caption, for one description per class and for
    the configured ``descriptions``; on generated scenes also the pointing game. Returns (file
    payload, pointing-game summary)."""
    from exporter.contract import encode_array

    clip = model.model
    size = int(pixels.shape[-1])
    layer, grid = gradcam_layer(clip.visual, size)
    n = len(dataset.items)

    def maps_for(indices: list[int], texts: list[str]) -> np.ndarray:
        vectors = torch.from_numpy(model.encode_texts(texts)).float()
        return np.concatenate(
            [
                gradcam(clip, pixels[indices[a : a + 64]], vectors[a : a + 64], layer)
                for a in range(0, len(indices), 64)
            ]
        )

    def code(maps: np.ndarray) -> dict:
        return encode_array(maps.reshape(maps.shape[0], -1), "u1", lo=0.0, hi=1.0)

    everyone = list(range(n))
    payload: dict = {
        "method": "grad-cam",
        "layer": layer,
        "grid": grid,
        "size": size,
        "caption": code(maps_for(everyone, [it.text for it in dataset.items])),
        "descriptions": [
            {"text": text, "maps": code(maps_for(everyone, [text] * n))}
            for text in description_list(dataset, descriptions)
        ],
    }
    scenes = [_scene_of(it, seed) for it in dataset.items] if dataset.kind == "shapes" else []
    if not scenes or any(s is None for s in scenes):
        return payload, None
    trials = [(i, obj) for i, scene in enumerate(scenes) for obj in scene.objects]
    cams = maps_for([i for i, _ in trials], [obj.phrase() for _, obj in trials])
    full = upsample(cams, size)
    rows = []
    for (i, obj), one in zip(trials, full, strict=True):
        box = object_box(obj)
        peak = peak_of(one)
        rows.append(
            {
                "item": i,
                "text": obj.phrase(),
                "box": box,
                "peak": list(peak),
                "hit": inside(peak, box),
                "objects": len(scenes[i].objects),
            }
        )
    hits = np.array([r["hit"] for r in rows])
    multi = np.array([r["objects"] > 1 for r in rows])
    chance = float(
        np.mean([min(1.0, ((b[2] - b[0]) * (b[3] - b[1])) / size**2) for b in (r["box"] for r in rows)])
    )
    summary = {
        "dataset": dataset.name,
        "layer": layer,
        "trials": len(rows),
        "fraction": float(hits.mean()),
        "trials_multi": int(multi.sum()),
        "fraction_multi": float(hits[multi].mean()) if multi.any() else None,
        "chance": chance,
        "tolerance_px": TOLERANCE_PX,
    }
    payload["pointing"] = {**summary, "maps": code(cams), "rows": rows}
    return payload, summary
