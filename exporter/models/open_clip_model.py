"""`open_clip:<architecture>:<tag | checkpoint path | random>` — any open_clip model.

Weights named by a hub tag are looked up in the local caches first. When they
are not cached and the hub does not answer within a few seconds we fail with
one line naming the weights and how to pass a local file, instead of letting
huggingface_hub retry for about a minute.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch
from PIL import Image

from exporter.datasets.base import sha256_file
from exporter.errors import ExportError, did_you_mean
from exporter.models import hf_tokenizer_files
from exporter.models.base import ModelBase, ModelInfo, l2_normalise, make_cache_key
from exporter.models.checkpoint_files import unreadable_message, unreadable_reason
from exporter.seeds import DEFAULT_SEED

PROBE_TIMEOUT_S = 3.0  # the whole "is the hub there?" check stays well under 5 s
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".npz", ".ckpt", ".tar")


def pick_device(device: str = "auto") -> torch.device:
    """'auto' takes the GPU when there is one; an explicit but missing GPU is an error."""
    if device in ("auto", "", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ExportError(
            f"device '{device}' requested but no CUDA GPU is available; use --device cpu or auto"
        )
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ExportError(f"unknown device '{device}'; use auto, cpu or cuda") from error


class OpenClipModel(ModelBase):
    """An open_clip model (or a checkpoint mapped into one) behind the EmbeddingModel protocol."""

    def __init__(
        self,
        model: torch.nn.Module,
        preprocess: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[[list[str]], torch.Tensor],
        device: torch.device,
        info: ModelInfo,
    ):
        self.model = model.to(device).eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.info = info

    @torch.inference_mode()
    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        batch = torch.stack([self.preprocess(image.convert("RGB")) for image in images]).to(self.device)
        features = self.model.encode_image(batch)
        return l2_normalise(features.float().cpu().numpy(), model=self.info.name)

    @torch.inference_mode()
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(list(texts)).to(self.device)
        features = self.model.encode_text(tokens)
        return l2_normalise(features.float().cpu().numpy(), model=self.info.name)


# -- weights bookkeeping -------------------------------------------------------------------------


def checkpoint_hash(path: Path, cache_dir: Path | None) -> str:
    """sha256 of a checkpoint, memoised by (path, size, mtime) so big files are hashed once."""
    path = path.resolve()
    stat = path.stat()
    memo_key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_file = Path(cache_dir) / "checkpoint-hashes.json" if cache_dir else None
    memo: dict[str, str] = {}
    if memo_file and memo_file.is_file():
        with contextlib.suppress(ValueError, OSError):
            memo = json.loads(memo_file.read_text(encoding="utf-8"))
    if memo_key in memo:
        return memo[memo_key]
    digest = sha256_file(path)
    if memo_file:
        from exporter.contract import write_bytes_atomic

        memo[memo_key] = digest
        write_bytes_atomic(memo_file, json.dumps(memo, sort_keys=True, indent=1).encode("utf-8"))
    return digest


def looks_like_path(weights: str) -> bool:
    return (
        "/" in weights
        or "\\" in weights
        or weights.startswith(("~", "."))
        or weights.lower().endswith(CHECKPOINT_SUFFIXES)
        or Path(weights).exists()
    )


def require_file(path_text: str, spec: str) -> Path:
    path = Path(path_text).expanduser()
    if not path.is_file():
        what = "is a folder, not a checkpoint file" if path.is_dir() else "not found"
        raise ExportError(
            f"model '{spec}': checkpoint {path} {what}; give the path of an existing weights file"
        )
    return path


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Make huggingface_hub answer from its cache only (no HEAD requests, no retries)."""
    try:
        from huggingface_hub import constants
    except ImportError:
        yield
        return
    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


@contextlib.contextmanager
def quiet_logging(level: int = logging.WARNING) -> Iterator[None]:
    previous = logging.root.manager.disable
    logging.disable(max(level, previous))
    try:
        yield
    finally:
        logging.disable(previous)


def host_reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to the URL's host opens within the timeout.

    DNS lookups cannot be given a timeout, so the probe runs in a daemon thread
    that we stop waiting for.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    parsed = urlparse(url)
    host = parsed.hostname
    if not host:
        return False
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _hub_endpoint() -> str:
    try:
        from huggingface_hub import constants

        return constants.ENDPOINT
    except ImportError:
        return ""


def _hf_candidates(filename: str) -> list[str]:
    # open_clip prefers a safetensors twin of the named file when the repo has one.
    names = []
    if filename == "open_clip_pytorch_model.bin":
        names.append("open_clip_model.safetensors")
    elif filename.endswith((".bin", ".pth")):
        names.append(filename[:-4] + ".safetensors")
    names.append(filename)
    return names


def cached_pretrained_file(cfg: dict[str, Any]) -> tuple[Path | None, str]:
    """(local file or None, human description of the remote source) for a pretrained cfg."""
    if cfg.get("file"):
        return Path(cfg["file"]), cfg["file"]
    hub = cfg.get("hf_hub", "")
    if hub:
        repo_id, filename = os.path.split(hub)
        filename = filename or "open_clip_pytorch_model.bin"
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            try_to_load_from_cache = None
        if try_to_load_from_cache is not None:
            for name in _hf_candidates(filename):
                found = try_to_load_from_cache(repo_id, name)
                if isinstance(found, str) and Path(found).is_file():
                    return Path(found), f"{repo_id}/{name}"
        return None, f"hf-hub {repo_id}/{filename}"
    url = cfg.get("url", "")
    if url:
        target = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        return (target if target.is_file() else None), url
    return None, "(no source)"


# -- spec -> model ------------------------------------------------------------------------------


def known_architectures() -> list[str]:
    import open_clip

    return list(open_clip.list_models())


def check_architecture(arch: str, spec: str) -> None:
    if arch.startswith(("hf-hub:", "local-dir:")):
        return
    names = known_architectures()
    if arch not in names:
        close = difflib.get_close_matches(arch, names, n=3, cutoff=0.5)
        hint = (
            f"did you mean {', '.join(repr(c) for c in close)}?"
            if close
            else "run `python -m exporter models`"
        )
        raise ExportError(f"model '{spec}': unknown open_clip architecture '{arch}' ({hint})")


def family_of(arch: str, logit_bias: float | None) -> tuple[str, str]:
    lower = arch.lower()
    if logit_bias is not None or "siglip" in lower:
        return "siglip", "sigmoid"
    if "coca" in lower:
        return "coca", "infonce+captioning"
    return "clip", "infonce"


def _describe_transform(preprocess: Any) -> str:
    # The repr lists sizes, interpolation, mean and std: what the cache must depend on.
    return repr(preprocess)


def _create(arch: str, spec: str, **kwargs: Any) -> tuple[torch.nn.Module, Any]:
    import open_clip

    try:
        model, _, preprocess = open_clip.create_model_and_transforms(arch, **kwargs)
    except ExportError:
        raise
    except Exception as error:  # open_clip raises bare RuntimeErrors on size/key mismatches
        source = kwargs.get("pretrained") or "random weights"
        if Path(str(source)).is_file() and unreadable_reason(Path(str(source))) is not None:
            # Unreadable file: say what is wrong with it (torch's text would suggest weights_only=False).
            raise ExportError(unreadable_message(spec, Path(str(source)))) from error
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "weights_only" in first:
            first = type(error).__name__
        raise ExportError(
            f"model '{spec}': cannot load {source} into architecture '{arch}' ({first[:300]}); "
            "check that the checkpoint was trained with this architecture"
        ) from error
    return model, preprocess


def _tokenizer(
    arch: str, spec: str, context_length: int | None = None
) -> Callable[[list[str]], torch.Tensor]:
    import open_clip

    try:
        if context_length is None:
            return open_clip.get_tokenizer(arch)
        return open_clip.get_tokenizer(arch, context_length=context_length)
    except Exception as error:
        raise ExportError(
            f"model '{spec}': cannot build the tokenizer of '{arch}' ({str(error).splitlines()[0][:200]}); "
            "its tokenizer files must be in the Hugging Face cache"
        ) from error


def logit_params(model: torch.nn.Module) -> tuple[float, float | None]:
    scale = getattr(model, "logit_scale", None)
    logit_scale = (
        float(torch.as_tensor(scale).detach().float().exp().reshape(-1)[0]) if scale is not None else 1.0
    )
    bias = getattr(model, "logit_bias", None)
    logit_bias = float(torch.as_tensor(bias).detach().float().reshape(-1)[0]) if bias is not None else None
    return logit_scale, logit_bias


def embed_dim_of(model: torch.nn.Module) -> int:
    with torch.inference_mode():
        projection = getattr(model, "text_projection", None)
        if isinstance(projection, torch.Tensor):
            return int(projection.shape[-1])
        if isinstance(projection, torch.nn.Linear):
            return int(projection.out_features)
    visual = getattr(model, "visual", None)
    output_dim = getattr(visual, "output_dim", None)
    if output_dim:
        return int(output_dim)
    raise ExportError(
        "cannot tell the embedding size of this model; it has neither text_projection nor visual.output_dim"
    )


def load_open_clip(
    spec: str, *, device: str = "auto", cache_dir: Path | None = None, seed: int = DEFAULT_SEED
) -> OpenClipModel:
    """Resolve `open_clip:<arch>:<weights>` into a ready model."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ExportError(
            f"model '{spec}': write open_clip:<architecture>:<pretrained tag, checkpoint path or 'random'>, "
            "e.g. open_clip:ViT-B-32:laion2b_s34b_b79k"
        )
    _, arch, weights = parts
    check_architecture(arch, spec)
    torch_device = pick_device(device)
    import open_clip

    trained = True
    create_kwargs: dict[str, Any] = {"pretrained_text": False, "pretrained_image": False}
    if weights == "random":
        # Untrained weights are still seeded so the same export gives the same vectors.
        torch.manual_seed(seed)
        weights_label, weights_id, trained = "random", f"random:{seed}:{torch.__version__}", False
        # open_clip logs a warning for random weights; info.trained=False already says so.
        with hub_offline(), quiet_logging():
            model, preprocess = _create(arch, spec, pretrained=None, **create_kwargs)
    elif looks_like_path(weights):
        path = require_file(weights, spec)
        digest = checkpoint_hash(path, cache_dir)
        weights_label, weights_id = f"{path.name}@{digest[:12]}", digest
        with hub_offline():
            model, preprocess = _create(arch, spec, pretrained=str(path), **create_kwargs)
    else:
        cfg = open_clip.get_pretrained_cfg(arch, weights)
        if not cfg:
            tags = open_clip.list_pretrained_tags_by_model(arch)
            hint = did_you_mean(weights, tags)
            raise ExportError(
                f"model '{spec}': '{weights}' is neither a pretrained tag of {arch} nor an existing file ({hint})"
            )
        local, source = cached_pretrained_file(cfg)
        if local is None:
            endpoint = cfg.get("url") or _hub_endpoint()
            if not endpoint or not host_reachable(endpoint):
                raise ExportError(
                    f"model '{spec}': weights '{weights}' ({source}) are not cached and the hub is unreachable; "
                    f"download the file elsewhere and give its path: open_clip:{arch}:/path/to/checkpoint"
                )
            try:
                local = Path(open_clip.download_pretrained(cfg))
            except Exception as error:
                raise ExportError(
                    f"model '{spec}': downloading weights '{weights}' ({source}) failed ({str(error)[:200]}); "
                    f"give a local file instead: open_clip:{arch}:/path/to/checkpoint"
                ) from error
        weights_label, weights_id = weights, f"{arch}:{weights}:{local.name}"
        # The tag's own preprocessing and activation, as open_clip would use for the tag.
        for ours, theirs in (
            ("image_mean", "mean"),
            ("image_std", "std"),
            ("image_interpolation", "interpolation"),
            ("image_resize_mode", "resize_mode"),
        ):
            if cfg.get(theirs) is not None:
                create_kwargs[ours] = cfg[theirs]
        if cfg.get("quick_gelu"):
            create_kwargs["force_quick_gelu"] = True
        with hub_offline():
            model, preprocess = _create(arch, spec, pretrained=str(local), **create_kwargs)
    if hf_tokenizer_files.hf_tokenizer_name(arch) is None:
        with hub_offline():
            tokenizer = _tokenizer(arch, spec)
    else:
        reachable = bool(_hub_endpoint()) and host_reachable(_hub_endpoint())
        hf_tokenizer_files.check_tokenizer(arch, spec, hub_reachable=reachable)
        with contextlib.nullcontext() if reachable else hub_offline():
            tokenizer = _tokenizer(arch, spec)
    logit_scale, logit_bias = logit_params(model)
    family, objective = family_of(arch, logit_bias)
    info = ModelInfo(
        name=spec,
        family=family,
        objective=objective,
        weights=weights_label,
        logit_scale=logit_scale,
        logit_bias=logit_bias,
        embed_dim=embed_dim_of(model),
        trained=trained,
        description=f"open_clip {arch} with {'untrained random' if not trained else weights_label} weights",
        cache_key=make_cache_key(
            kind="open_clip",
            arch=arch,
            weights=weights_id,
            preprocess=_describe_transform(preprocess),
            context_length=getattr(tokenizer, "context_length", None),
        ),
    )
    return OpenClipModel(model, preprocess, tokenizer, torch_device, info)
