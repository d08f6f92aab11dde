"""Train a tiny open_clip ``CLIP`` on generated scenes, on the CPU, deterministically.

The model is open_clip's own ``CLIP`` class with a small custom configuration
(a small ViT and a small text transformer), so the saved state_dict loads
through ``open_clip.create_model_and_transforms`` like any local checkpoint.

Training records its dynamics: embeddings of the display pairs at about 20
steps including step 0 (the cone effect: at random initialisation the two
towers already map into different narrow cones), and a curve of loss, centroid
distance of the display pairs and temperature.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import open_clip
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

from exporter.errors import ExportError
from exporter.pocket.objectives import OBJECTIVES, objective_loss
from exporter.pocket.scenes import DEFAULT_SEED, IMAGE_SIZE, display_pairs, generate_scenes
from exporter.pocket.tokenizer import WordTokenizer, scene_tokenizer

MAX_LOGIT_SCALE = math.log(100.0)  # open_clip clamps the learnable scale at 100


@dataclass(frozen=True)
class PocketSpec:
    """Everything that determines a pocket model's weights (besides the seed and the code)."""

    objective: str  # infonce | cyclip | cloob | siglip
    temperature: float = 0.07  # initial (or fixed) temperature; logit_scale = 1/temperature
    learn_temperature: bool = True
    logit_bias: float | None = None  # SigLIP's learnable bias, initial value
    hopfield_beta: float = 8.0  # CLOOB's Hopfield inverse temperature
    cyclic_lambda: float = 0.25  # CyCLIP's weight of each cyclic term (the paper's value)
    cyclic_warmup: float = 0.5  # fraction of steps over which the cyclic weight ramps up from 0
    # Architecture (open_clip CLIP config). The image tower is open_clip's ModifiedResNet
    # (CLIP's RN50 design) at stem width 8: in our budget a small ViT learned colour and
    # position but hardly shape (zero-shot shape accuracy near chance); the convolutions'
    # locality learns shape within the same few hundred steps.
    embed_dim: int = 32
    image_size: int = IMAGE_SIZE
    vision_resnet_layers: tuple[int, int, int, int] | None = (1, 1, 1, 1)
    vision_width: int = 8  # ResNet stem width (ViT: transformer width)
    vision_head_width: int = 64  # attention-pool head width (ViT: attention head width)
    # ViT settings, used when vision_resnet_layers is None.
    patch_size: int = 16
    vision_layers: int = 2
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 2
    context_length: int = 16  # the longest caption is 14 words + <sot> + <eot>
    mlp_ratio: float = 2.0
    # Optimisation.
    steps: int = 250
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    # Learning-rate multiplier for the scalar logit scale and bias. Adam moves each scalar by
    # about lr per step, so at lr 2e-3 a SigLIP bias starting at -10 would barely move in a
    # few hundred steps (the papers train for 10^5 steps); the multiplier lets them adapt.
    scalar_lr_scale: float = 1.0
    warmup: int = 25
    train_pool: int = 6000  # distinct training scenes, drawn with replacement across epochs
    # Dynamics.
    snapshots: int = 20
    curve_every: int = 10
    display_n: int = 100
    threads: int = 1  # one thread: on a shared 2-core machine, 2 threads can be 10x slower
    # Presentation (not part of the weights, but cheap to key on).
    label: str = ""
    family: str = "clip"
    description: str = ""

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ExportError(f"pocket spec: unknown objective {self.objective!r}; use one of {OBJECTIVES}")
        if self.objective == "siglip" and self.logit_bias is None:
            raise ExportError("pocket spec: siglip needs logit_bias (the paper initialises it at -10)")
        if self.temperature <= 0:
            raise ExportError(f"pocket spec: temperature must be > 0, got {self.temperature}")
        if self.steps < 1 or self.batch_size < 2 or self.train_pool < self.batch_size:
            raise ExportError("pocket spec: need steps >= 1, batch_size >= 2 and train_pool >= batch_size")

    def training_key(self) -> dict:
        """The fields that affect weights or dynamics (the cache key uses these)."""
        data = asdict(self)
        for name in ("label", "description", "family"):
            data.pop(name)
        return data

    def model_config(self, vocab_size: int) -> dict:
        """An open_clip model config (the JSON form of open_clip/model_configs/*.json)."""
        if self.vision_resnet_layers is not None:
            vision = {
                "image_size": self.image_size,
                "layers": list(self.vision_resnet_layers),
                "width": self.vision_width,
                "head_width": self.vision_head_width,
            }
        else:
            vision = {
                "image_size": self.image_size,
                "layers": self.vision_layers,
                "width": self.vision_width,
                "head_width": self.vision_head_width,
                "patch_size": self.patch_size,
                "mlp_ratio": self.mlp_ratio,
            }
        cfg: dict = {
            "embed_dim": self.embed_dim,
            "init_logit_scale": math.log(1.0 / self.temperature),
            "vision_cfg": vision,
            "text_cfg": {
                "context_length": self.context_length,
                "vocab_size": vocab_size,
                "width": self.text_width,
                "heads": self.text_heads,
                "layers": self.text_layers,
                "mlp_ratio": self.mlp_ratio,
            },
        }
        if self.logit_bias is not None:
            cfg["init_logit_bias"] = float(self.logit_bias)
        return cfg


@dataclass
class Dynamics:
    """Training dynamics; the .npz fields of docs/ARCHITECTURE.md."""

    steps: np.ndarray  # (S,) snapshot steps, starting at 0
    image: np.ndarray  # (S, N, D) display-pair image embeddings (L2-normalised)
    text: np.ndarray  # (S, N, D)
    curve_step: np.ndarray  # (T,)
    loss: np.ndarray  # (T,) mean training-batch loss since the previous curve point
    centroid_distance: np.ndarray  # (T,) ||mean(image) - mean(text)|| over the display pairs
    temperature: np.ndarray  # (T,) 1 / logit_scale
    logit_bias: np.ndarray | None = None  # (T,) SigLIP only

    def arrays(self) -> dict[str, np.ndarray]:
        out = {
            "steps": self.steps,
            "image": self.image,
            "text": self.text,
            "curve_step": self.curve_step,
            "loss": self.loss,
            "centroid_distance": self.centroid_distance,
            "temperature": self.temperature,
        }
        if self.logit_bias is not None:
            out["logit_bias"] = self.logit_bias
        return out


@dataclass
class TrainResult:
    model: open_clip.model.CLIP
    tokenizer: WordTokenizer
    model_config: dict
    dynamics: Dynamics
    seconds: float


@contextmanager
def _deterministic_torch(threads: int) -> Iterator[None]:
    """Fixed thread count + deterministic kernels, restored afterwards."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def snapshot_steps(steps: int, count: int) -> list[int]:
    """``count`` steps from 0 to ``steps``, quadratically spaced: the early motion is fastest."""
    raw = {round(steps * (k / max(count - 1, 1)) ** 2) for k in range(count)}
    return sorted(raw | {0, steps})


def _images_to_uint8(images: list) -> torch.Tensor:
    arr = np.stack([np.asarray(img.convert("RGB"), dtype=np.uint8) for img in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()  # B, 3, H, W


_MEAN = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
_STD = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)


def normalise_images(batch_u8: torch.Tensor) -> torch.Tensor:
    """Same arithmetic as open_clip's eval transform (ToTensor then Normalize) for 64 px scenes."""
    return (batch_u8.float().div(255.0) - _MEAN) / _STD


@lru_cache(maxsize=2)
def _training_pool(n: int, seed: int, context_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rendered training scenes as uint8 + tokens; cached so a default-set run renders once."""
    scenes = generate_scenes(n, split="train", seed=seed)
    tokens = scene_tokenizer(context_length)([s.caption for s in scenes])
    return _images_to_uint8([s.image for s in scenes]), tokens


@lru_cache(maxsize=2)
def _display_tensors(n: int, seed: int, context_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    scenes = display_pairs(n, seed=seed)
    tokens = scene_tokenizer(context_length)([s.caption for s in scenes])
    return normalise_images(_images_to_uint8([s.image for s in scenes])), tokens


def build_model(spec: PocketSpec, tokenizer: WordTokenizer, seed: int) -> tuple[open_clip.model.CLIP, dict]:
    cfg = spec.model_config(tokenizer.vocab_size)
    torch.manual_seed(seed)
    model = open_clip.model.CLIP(**cfg)
    return model, cfg


def _encode_pairs(model, images: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return model.encode_image(images, normalize=True), model.encode_text(tokens, normalize=True)


def cyclic_weight(spec: PocketSpec, step: int) -> float:
    """CyCLIP's cyclic weight at a step: ramped from 0 so the tiny model first spreads its
    embeddings (from a collapsed start the full weight keeps it collapsed in our short budget)."""
    ramp = spec.cyclic_warmup * spec.steps
    return spec.cyclic_lambda * (min(1.0, step / ramp) if ramp > 0 else 1.0)


def _loss(spec: PocketSpec, model, images: torch.Tensor, tokens: torch.Tensor, step: int) -> torch.Tensor:
    image, text = _encode_pairs(model, images, tokens)
    return objective_loss(
        spec.objective,
        image,
        text,
        model.logit_scale.exp(),
        model.logit_bias,
        hopfield_beta=spec.hopfield_beta,
        cyclic_lambda=cyclic_weight(spec, step),
    )


def _lr_at(spec: PocketSpec, step: int) -> float:
    """Linear warm-up then cosine decay to zero."""
    if step < spec.warmup:
        return spec.lr * (step + 1) / spec.warmup
    progress = (step - spec.warmup) / max(1, spec.steps - spec.warmup)
    return 0.5 * spec.lr * (1.0 + math.cos(math.pi * progress))


def _param_groups(model: torch.nn.Module, weight_decay: float, scalar_lr_scale: float) -> list[dict]:
    # As in open_clip's training: no decay on gains, biases, embeddings and the logit scale/bias.
    decay, no_decay, scalars = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name in ("logit_scale", "logit_bias"):
            scalars.append(p)
        elif p.ndim < 2 or "embedding" in name or "ln" in name or "bn" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay, "lr_scale": 1.0},
        {"params": no_decay, "weight_decay": 0.0, "lr_scale": 1.0},
    ]
    if scalars:
        groups.append({"params": scalars, "weight_decay": 0.0, "lr_scale": scalar_lr_scale})
    return groups


def train_pocket(
    spec: PocketSpec,
    *,
    seed: int = DEFAULT_SEED,
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train one pocket model from scratch; same spec + seed => same weights and dynamics."""
    started = time.perf_counter()
    tokenizer = scene_tokenizer(spec.context_length)
    with _deterministic_torch(spec.threads):
        model, cfg = build_model(spec, tokenizer, seed)
        # oneDNN convolutions run ~20% faster on NHWC tensors; weights are made contiguous again
        # before they are returned, so the checkpoint is an ordinary open_clip state_dict.
        layout = torch.channels_last if spec.vision_resnet_layers is not None else torch.contiguous_format
        model.visual.to(memory_format=layout)
        if not spec.learn_temperature:
            model.logit_scale.requires_grad_(False)
        optimiser = torch.optim.AdamW(
            _param_groups(model, spec.weight_decay, spec.scalar_lr_scale),
            lr=spec.lr,
            betas=(0.9, 0.98),
            eps=1e-6,
        )

        pool_images, pool_tokens = _training_pool(spec.train_pool, seed, spec.context_length)
        disp_images, disp_tokens = _display_tensors(spec.display_n, seed, spec.context_length)
        disp_images = disp_images.contiguous(memory_format=layout)
        generator = torch.Generator().manual_seed(seed + 1)  # batch order, independent of init
        order = torch.randperm(spec.train_pool, generator=generator)
        cursor = 0

        snap_at = set(snapshot_steps(spec.steps, spec.snapshots))
        curve_at = set(range(0, spec.steps + 1, spec.curve_every)) | {spec.steps}
        snaps_step: list[int] = []
        snaps_image: list[np.ndarray] = []
        snaps_text: list[np.ndarray] = []
        curve: dict[str, list[float]] = {
            "step": [],
            "loss": [],
            "centroid": [],
            "temperature": [],
            "bias": [],
        }

        window: list[float] = []
        model.train()
        for step in range(spec.steps + 1):
            if cursor + spec.batch_size > spec.train_pool:
                order = torch.randperm(spec.train_pool, generator=generator)
                cursor = 0
            idx = order[cursor : cursor + spec.batch_size]
            cursor += spec.batch_size
            images = normalise_images(pool_images[idx]).contiguous(memory_format=layout)
            loss = _loss(spec, model, images, pool_tokens[idx], step)
            window.append(float(loss.detach()))

            if step in snap_at or step in curve_at:
                model.eval()  # BatchNorm (ResNet towers) must not see or learn from the display batch
                with torch.no_grad():
                    d_img, d_txt = _encode_pairs(model, disp_images, disp_tokens)
                model.train()
                if step in snap_at:
                    snaps_step.append(step)
                    snaps_image.append(d_img.numpy().astype(np.float32))
                    snaps_text.append(d_txt.numpy().astype(np.float32))
                if step in curve_at:
                    curve["step"].append(step)
                    # Mean batch loss since the previous point: one batch alone is noisy.
                    curve["loss"].append(float(np.mean(window)))
                    window.clear()
                    curve["centroid"].append(float((d_img.mean(0) - d_txt.mean(0)).norm()))
                    curve["temperature"].append(float(1.0 / model.logit_scale.detach().exp()))
                    if model.logit_bias is not None:
                        curve["bias"].append(float(model.logit_bias.detach()))
            if step == spec.steps:
                break  # the last pass only measured; no update past the budget

            for group in optimiser.param_groups:
                group["lr"] = _lr_at(spec, step) * group["lr_scale"]
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if spec.learn_temperature:
                with torch.no_grad():
                    model.logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)
            if progress is not None:
                progress(step + 1, spec.steps)
        model.eval()
        model.visual.to(memory_format=torch.contiguous_format)

    if not all(math.isfinite(v) for v in curve["loss"]):
        raise ExportError(
            f"pocket model ({spec.objective}) diverged: loss became non-finite; lower lr in its spec"
        )
    dynamics = Dynamics(
        steps=np.asarray(snaps_step, dtype=np.int64),
        image=np.stack(snaps_image),
        text=np.stack(snaps_text),
        curve_step=np.asarray(curve["step"], dtype=np.int64),
        loss=np.asarray(curve["loss"], dtype=np.float64),
        centroid_distance=np.asarray(curve["centroid"], dtype=np.float64),
        temperature=np.asarray(curve["temperature"], dtype=np.float64),
        logit_bias=np.asarray(curve["bias"], dtype=np.float64) if curve["bias"] else None,
    )
    return TrainResult(
        model=model,
        tokenizer=tokenizer,
        model_config=cfg,
        dynamics=dynamics,
        seconds=time.perf_counter() - started,
    )


@torch.no_grad()
def embed_scenes(model, tokenizer: WordTokenizer, scenes: list) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised (image, text) embeddings of scenes, in the training preprocessing (eval mode)."""
    model.eval()
    images = normalise_images(_images_to_uint8([s.image for s in scenes]))
    tokens = tokenizer([s.caption for s in scenes])
    image, text = _encode_pairs(model, images, tokens)
    return image.numpy(), text.numpy()


def recall_at_1(image: np.ndarray, text: np.ndarray) -> tuple[float, float]:
    """(text->image, image->text) R@1 with matched pairs on the diagonal."""
    sim = image @ text.T
    target = np.arange(sim.shape[0])
    t2i = float(np.mean(sim.argmax(axis=0) == target))
    i2t = float(np.mean(sim.argmax(axis=1) == target))
    return t2i, i2t


def centroid_distance(image: np.ndarray, text: np.ndarray) -> float:
    return float(np.linalg.norm(image.mean(0) - text.mean(0)))


__all__ = [
    "Dynamics",
    "PocketSpec",
    "TrainResult",
    "build_model",
    "centroid_distance",
    "embed_scenes",
    "normalise_images",
    "recall_at_1",
    "snapshot_steps",
    "train_pocket",
]
