"""Attention rollout (Abnar & Zuidema, "Quantifying Attention Flow in Transformers"), the ViT
saliency the minimal-CLIP seed uses, for open_clip ViT image towers.

Each block's attention, averaged over heads, is mixed with the identity for the residual
connection and renormalised: Â = (A + I) / 2, rows summing to 1. The rollout is the product
Â_L ... Â_1, itself row-stochastic: row i says how much each input token flows into token i
at the top. The map is the class token's row over the patch tokens (open_clip's "tok" pooling),
or the mean of the patch tokens' rows ("avg" pooling), reshaped to the patch grid.

Rollout reads only the image: it is the same map whichever caption or description is asked,
unlike Grad-CAM, whose target is a text embedding.
"""

from __future__ import annotations

import numpy as np
import torch

from exporter.errors import ExportError

METHOD = "attention-rollout"


def rollout_support(visual) -> str | None:
    """None when rollout applies to this image tower, else why not (one line)."""
    blocks = getattr(getattr(visual, "transformer", None), "resblocks", None)
    if blocks is None or not hasattr(visual, "class_embedding"):
        return "its image tower is not an open_clip VisionTransformer"
    if not all(isinstance(getattr(b, "attn", None), torch.nn.MultiheadAttention) for b in blocks):
        return "its attention blocks are not torch MultiheadAttention (custom blocks)"
    if getattr(visual, "attn_pool", None) is not None:
        return "it pools with attention over the tokens, which rollout does not model"
    if getattr(visual, "pool_type", "tok") not in ("tok", "avg"):
        return f"its pooling ({visual.pool_type}) is neither the class token nor the mean"
    return None


def attentions(visual, pixels: torch.Tensor) -> list[torch.Tensor]:
    """Every block's attention weights, (B, heads, N, N) each, from one forward pass."""
    found: list[torch.Tensor] = []

    def ask_for_weights(_module, args, kwargs):
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def keep(_module, _args, output):
        found.append(output[1].detach())

    handles = []
    for block in visual.transformer.resblocks:
        handles.append(block.attn.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
        handles.append(block.attn.register_forward_hook(keep))
    try:
        with torch.no_grad():
            visual.eval()(pixels)
    finally:
        for h in handles:
            h.remove()
    return found


def rollout(layers: list[torch.Tensor]) -> torch.Tensor:
    """(B, N, N) rollout of per-layer attentions (B, heads, N, N) or (B, N, N), first layer first."""
    result = None
    for attention in layers:
        a = attention.double()
        a = a.mean(dim=1) if a.dim() == 4 else a
        eye = torch.eye(a.shape[-1], dtype=a.dtype).expand_as(a)
        mixed = 0.5 * a + 0.5 * eye
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        result = mixed if result is None else mixed @ result
    if result is None:
        raise ExportError("attention rollout needs at least one attention layer")
    return result


def rollout_maps(visual, pixels: torch.Tensor) -> tuple[np.ndarray, int]:
    """(B, g, g) maps, each divided by its maximum, and the grid width g."""
    why = rollout_support(visual)
    if why:
        raise ExportError(f"attention rollout does not apply: {why}")
    rolled = rollout(attentions(visual, pixels))
    grid_h, grid_w = visual.grid_size
    patches = rolled[:, :, 1:]  # token 0 is the class token
    rows = patches[:, 0] if getattr(visual, "pool_type", "tok") == "tok" else patches[:, 1:].mean(dim=1)
    maps = rows.reshape(-1, grid_h, grid_w).numpy()
    peak = maps.reshape(maps.shape[0], -1).max(axis=1)
    return maps / np.where(peak > 0, peak, 1.0)[:, None, None], int(grid_w)


def rollout_payload(clip, dataset, pixels: torch.Tensor) -> dict:
    """The saliency file the figure reads (same layout as Grad-CAM's), method named in it."""
    from exporter.contract import encode_array

    maps = np.concatenate(
        [rollout_maps(clip.visual, pixels[a : a + 64])[0] for a in range(0, len(pixels), 64)]
    )
    grid = maps.shape[-1]
    blocks = len(clip.visual.transformer.resblocks)
    return {
        "method": METHOD,
        "layer": f"{blocks} attention block{'s' if blocks != 1 else ''}, heads averaged",
        "grid": int(grid),
        "size": int(pixels.shape[-1]),
        "text_independent": True,
        "caption": encode_array(maps.reshape(maps.shape[0], -1), "u1", lo=0.0, hi=1.0),
        "descriptions": [],
    }
