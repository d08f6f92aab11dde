"""Contrastive objectives on L2-normalised embeddings (image, text: B x D).

``logit_scale`` is always the multiplier of cosine similarities (1/temperature,
already exponentiated), as open_clip's ``CLIP.forward`` returns it. Row i of
``image`` and row i of ``text`` are a matched pair.

- InfoNCE (CLIP, Radford et al. 2021): symmetric cross-entropy over the
  B x B similarity logits.
- CyCLIP (Goel et al. 2022): InfoNCE plus two cyclic-consistency penalties,
  in-modal (image-image similarities match text-text similarities) and
  cross-modal (s(I_j, T_k) matches s(I_k, T_j)).
- CLOOB (Fürst et al. 2022): InfoLOOB (the leave-one-out bound: the positive is
  left out of the denominator) on embeddings retrieved from modern Hopfield
  networks that store the batch's image and text embeddings.
- SigLIP (Zhai et al. 2023): independent binary (sigmoid) terms for all B x B
  pairs with a learnable scale and bias.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

OBJECTIVES = ("infonce", "cyclip", "cloob", "siglip")
# CyCLIP's paper weights both cyclic terms by 0.25.
CYCLIP_LAMBDA = 0.25


def _targets(n: int, device: torch.device) -> torch.Tensor:
    return torch.arange(n, device=device)


def infonce_loss(image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
    """Symmetric InfoNCE: mean of image->text and text->image cross-entropy."""
    logits = logit_scale * image @ text.T
    target = _targets(image.shape[0], image.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def cyclic_losses(image: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """CyCLIP's (in-modal, cross-modal) consistency terms in cosine units, summed over B x B / B."""
    n = image.shape[0]
    in_modal = ((image @ image.T - text @ text.T) ** 2).sum() / n
    cross = image @ text.T
    cross_modal = ((cross - cross.T) ** 2).sum() / n
    return in_modal, cross_modal


def cyclip_loss(
    image: torch.Tensor,
    text: torch.Tensor,
    logit_scale: torch.Tensor | float,
    *,
    lambda_in_modal: float = CYCLIP_LAMBDA,
    lambda_cross_modal: float = CYCLIP_LAMBDA,
) -> torch.Tensor:
    in_modal, cross_modal = cyclic_losses(image, text)
    return (
        infonce_loss(image, text, logit_scale) + lambda_in_modal * in_modal + lambda_cross_modal * cross_modal
    )


def hopfield_retrieve(state: torch.Tensor, memory: torch.Tensor, beta: float) -> torch.Tensor:
    """One update of a modern Hopfield network: softmax(beta * state . memory^T) memory, renormalised."""
    return F.normalize(torch.softmax(beta * state @ memory.T, dim=-1) @ memory, dim=-1)


def info_loob(anchor: torch.Tensor, candidates: torch.Tensor, inv_tau: torch.Tensor | float) -> torch.Tensor:
    """mean_i [ -s a_i.c_i + logsumexp_{j != i} s a_i.c_j ]: the positive is left out of the sum."""
    logits = inv_tau * anchor @ candidates.T
    n = logits.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=logits.device)
    positives = logits.diagonal()
    negatives = torch.logsumexp(logits.masked_fill(eye, float("-inf")), dim=1)
    return (negatives - positives).mean()


def cloob_loss(
    image: torch.Tensor, text: torch.Tensor, inv_tau: torch.Tensor | float, *, hopfield_beta: float
) -> torch.Tensor:
    """InfoLOOB on Hopfield-retrieved embeddings (CLOOB).

    U: image memory, V: text memory. Images anchor in U-space (U_x against U_y),
    texts anchor in V-space (V_y against V_x).
    """
    u_x = hopfield_retrieve(image, image, hopfield_beta)
    u_y = hopfield_retrieve(text, image, hopfield_beta)
    v_x = hopfield_retrieve(image, text, hopfield_beta)
    v_y = hopfield_retrieve(text, text, hopfield_beta)
    return info_loob(u_x, u_y, inv_tau) + info_loob(v_y, v_x, inv_tau)


def siglip_loss(
    image: torch.Tensor,
    text: torch.Tensor,
    logit_scale: torch.Tensor | float,
    logit_bias: torch.Tensor | float,
) -> torch.Tensor:
    """-1/B sum_ij log sigmoid(z_ij (s x_i.y_j + b)), z = +1 on the diagonal, -1 elsewhere."""
    logits = logit_scale * image @ text.T + logit_bias
    n = logits.shape[0]
    signs = 2.0 * torch.eye(n, dtype=logits.dtype, device=logits.device) - 1.0
    return -F.logsigmoid(signs * logits).sum() / n


def objective_loss(
    objective: str,
    image: torch.Tensor,
    text: torch.Tensor,
    logit_scale: torch.Tensor,
    logit_bias: torch.Tensor | None = None,
    *,
    hopfield_beta: float = 8.0,
    cyclic_lambda: float = CYCLIP_LAMBDA,
) -> torch.Tensor:
    """Dispatch by objective name; ``logit_scale`` is the multiplier (already exp'd)."""
    if objective == "infonce":
        return infonce_loss(image, text, logit_scale)
    if objective == "cyclip":
        return cyclip_loss(
            image, text, logit_scale, lambda_in_modal=cyclic_lambda, lambda_cross_modal=cyclic_lambda
        )
    if objective == "cloob":
        return cloob_loss(image, text, logit_scale, hopfield_beta=hopfield_beta)
    if objective == "siglip":
        if logit_bias is None:
            raise ValueError("siglip needs a logit_bias (build the model with init_logit_bias)")
        return siglip_loss(image, text, logit_scale, logit_bias)
    raise ValueError(f"unknown objective {objective!r}; use one of {OBJECTIVES}")
