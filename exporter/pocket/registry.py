"""Named pocket models, trained once and cached; loaded through open_clip's own path.

``ensure_pocket_model("infonce", cache_dir=...)`` trains the model the first
time and afterwards returns the cached artifact without training: the cache
folder is keyed by the spec, the seed and a hash of the pocket source code.

A cached model folder holds
  ``pocket-<name>-<key>.json``  the open_clip model config (the file stem is the model name)
  ``model.pt``                 the state_dict, loadable by ``open_clip.create_model(..., pretrained=path)``
  ``tokenizer.json``           the word tokenizer
  ``dynamics.npz``             training dynamics (fields in docs/ARCHITECTURE.md)
  ``meta.json``                spec, seed, final temperature/bias, timing, display-pair metrics
and appears all at once (trained into a temporary folder, then renamed).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import open_clip
import torch

from exporter.errors import ExportError, did_you_mean
from exporter.pocket.scenes import DEFAULT_SEED
from exporter.pocket.tokenizer import WordTokenizer
from exporter.pocket.train import PocketSpec, centroid_distance, recall_at_1, train_pocket

# Bump when the cache layout changes (the source hash covers training changes).
CACHE_FORMAT = 1
_SOURCE_FILES = ("scenes.py", "tokenizer.py", "objectives.py", "train.py")
# The loss names of ModelInfo.objective (docs/ARCHITECTURE.md) for each pocket objective.
CONTRACT_OBJECTIVE = {"infonce": "infonce", "cyclip": "cyclip", "cloob": "infoloob", "siglip": "sigmoid"}

_TAU_STUDY = "InfoNCE at a fixed temperature, for the temperature study (Liang et al. 2022 report the gap growing as the temperature falls)."

POCKET_MODELS: dict[str, PocketSpec] = {
    "infonce": PocketSpec(
        objective="infonce",
        temperature=0.07,
        learn_temperature=True,
        scalar_lr_scale=25.0,
        label="InfoNCE (pocket)",
        family="clip",
        description="CLIP's symmetric InfoNCE loss with a learnable temperature (initial 0.07), trained on generated scenes.",
    ),
    "cyclip": PocketSpec(
        objective="cyclip",
        temperature=0.07,
        learn_temperature=True,
        scalar_lr_scale=25.0,
        label="CyCLIP (pocket)",
        family="cyclip",
        description="InfoNCE plus CyCLIP's in-modal and cross-modal cyclic-consistency terms (weight 0.25 each, ramped in over the first half of training).",
    ),
    "cloob": PocketSpec(
        objective="cloob",
        temperature=1 / 30,
        learn_temperature=False,
        hopfield_beta=14.3,
        label="CLOOB (pocket)",
        family="cloob",
        description="CLOOB: InfoLOOB on embeddings retrieved from modern Hopfield networks (inverse temperature 30, Hopfield beta 14.3).",
    ),
    "siglip": PocketSpec(
        objective="siglip",
        temperature=0.1,
        learn_temperature=True,
        logit_bias=-10.0,  # the paper's start: the prior log-odds of a positive pair
        scalar_lr_scale=25.0,
        label="SigLIP (pocket)",
        family="siglip",
        description="SigLIP's pairwise sigmoid loss with a learnable scale (initial 10) and bias (initial -10).",
    ),
    "tau-1": PocketSpec(
        objective="infonce",
        temperature=1.0,
        learn_temperature=False,
        label="InfoNCE, τ = 1 (pocket)",
        description=_TAU_STUDY,
    ),
    "tau-0.1": PocketSpec(
        objective="infonce",
        temperature=0.1,
        learn_temperature=False,
        label="InfoNCE, τ = 1/10 (pocket)",
        description=_TAU_STUDY,
    ),
    "tau-0.033": PocketSpec(
        objective="infonce",
        temperature=1 / 30,
        learn_temperature=False,
        label="InfoNCE, τ = 1/30 (pocket)",
        description=_TAU_STUDY,
    ),
    "tau-0.01": PocketSpec(
        objective="infonce",
        temperature=0.01,
        learn_temperature=False,
        label="InfoNCE, τ = 1/100 (pocket)",
        description=_TAU_STUDY,
    ),
}
DEFAULT_SET: tuple[str, ...] = tuple(POCKET_MODELS)


@dataclass(frozen=True)
class PocketArtifact:
    name: str  # pocket name, e.g. "infonce"
    key: str  # cache key (hex)
    seed: int
    folder: Path
    checkpoint: Path
    open_clip_model_name: str
    model_config: dict
    model_config_file: Path
    tokenizer_file: Path
    dynamics_file: Path
    # Info fields (exporter.models.base.ModelInfo takes these).
    family: str
    objective: str  # ModelInfo vocabulary: infonce | cyclip | infoloob | sigmoid
    label: str
    description: str
    logit_scale: float  # final multiplier of cosine similarities (1 / temperature)
    logit_bias: float | None
    temperature: float
    embed_dim: int
    train_seconds: float
    metrics: dict  # display-pair R@1 and centroid distance at the end of training

    @property
    def weights(self) -> str:
        return f"pocket-{self.name}-{self.key[:12]}"

    @property
    def trained(self) -> bool:
        return True

    def load_dynamics(self) -> dict[str, np.ndarray]:
        with np.load(self.dynamics_file) as data:
            return {k: data[k] for k in data.files}


def normalise_pocket_name(name: str) -> str:
    return name.removeprefix("pocket:").strip()


def pocket_spec(name: str) -> PocketSpec:
    """The registered spec; unknown names get the closest registered one suggested."""
    key = normalise_pocket_name(name)
    if key in POCKET_MODELS:
        return POCKET_MODELS[key]
    hint = did_you_mean(key, POCKET_MODELS, cutoff=0.3, shown=lambda known: f"pocket:{known}")
    raise ExportError(f"unknown pocket model {name!r}; {hint}")


@cache
def code_version() -> str:
    """Hash of the pocket sources that decide weights, plus the library versions that run them."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for file_name in _SOURCE_FILES:
        digest.update(file_name.encode())
        digest.update((here / file_name).read_bytes())
    digest.update(
        f"open_clip={open_clip.__version__};torch={torch.__version__};format={CACHE_FORMAT}".encode()
    )
    return digest.hexdigest()


def cache_key(name: str, spec: PocketSpec, seed: int) -> str:
    payload = {"name": name, "spec": spec.training_key(), "seed": int(seed), "code": code_version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _artifact_from_folder(folder: Path) -> PocketArtifact:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    model_name = meta["open_clip_model_name"]
    config_file = folder / f"{model_name}.json"
    return PocketArtifact(
        name=meta["name"],
        key=meta["key"],
        seed=int(meta["seed"]),
        folder=folder,
        checkpoint=folder / "model.pt",
        open_clip_model_name=model_name,
        model_config=json.loads(config_file.read_text(encoding="utf-8")),
        model_config_file=config_file,
        tokenizer_file=folder / "tokenizer.json",
        dynamics_file=folder / "dynamics.npz",
        family=meta["family"],
        objective=meta["objective"],
        label=meta["label"],
        description=meta["description"],
        logit_scale=float(meta["logit_scale"]),
        logit_bias=None if meta["logit_bias"] is None else float(meta["logit_bias"]),
        temperature=float(meta["temperature"]),
        embed_dim=int(meta["embed_dim"]),
        train_seconds=float(meta["train_seconds"]),
        metrics=dict(meta["metrics"]),
    )


def _complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in ("meta.json", "model.pt", "tokenizer.json", "dynamics.npz"))


def ensure_pocket_model(
    name: str,
    *,
    cache_dir: Path,
    seed: int = DEFAULT_SEED,
    spec: PocketSpec | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PocketArtifact:
    """Train ``pocket:<name>`` unless an identical model (spec, seed, code) is cached.

    ``spec`` overrides the registered spec (tests train tiny versions this way);
    it is part of the cache key, so overrides never collide with the defaults.
    """
    pocket_name = normalise_pocket_name(name)
    if spec is None:
        spec = pocket_spec(pocket_name)
    key = cache_key(pocket_name, spec, seed)
    root = Path(cache_dir) / "pocket"
    folder = root / f"{pocket_name}-{key[:16]}"
    if _complete(folder):
        try:
            return _artifact_from_folder(folder)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # damaged by hand (the writer is atomic): retrain below
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)

    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"pocket cache {root}: cannot create ({exc}); pass a writable --cache-dir") from exc
    result = train_pocket(spec, seed=seed, progress=progress)
    model_name = f"pocket-{pocket_name}-{key[:12]}"
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{pocket_name}-", dir=root))
    try:
        torch.save(result.model.state_dict(), tmp / "model.pt")
        (tmp / f"{model_name}.json").write_text(
            json.dumps(result.model_config, indent=1, sort_keys=True) + "\n"
        )
        result.tokenizer.save(tmp / "tokenizer.json")
        with open(tmp / "dynamics.npz", "wb") as handle:
            np.savez(handle, **result.dynamics.arrays())
        dyn = result.dynamics
        final_image, final_text = dyn.image[-1], dyn.text[-1]
        t2i, i2t = recall_at_1(final_image, final_text)
        logit_scale = float(result.model.logit_scale.detach().exp())
        bias = result.model.logit_bias
        meta = {
            "format": CACHE_FORMAT,
            "name": pocket_name,
            "key": key,
            "seed": int(seed),
            "open_clip_model_name": model_name,
            "family": spec.family,
            "objective": CONTRACT_OBJECTIVE[spec.objective],
            "label": spec.label or f"{pocket_name} (pocket)",
            "description": spec.description,
            "spec": spec.training_key(),
            "logit_scale": logit_scale,
            "logit_bias": None if bias is None else float(bias.detach()),
            "temperature": 1.0 / logit_scale,
            "embed_dim": spec.embed_dim,
            "train_seconds": result.seconds,
            "metrics": {
                "recall_t2i_r1": t2i,
                "recall_i2t_r1": i2t,
                "centroid_distance": centroid_distance(final_image, final_text),
                "centroid_distance_init": float(dyn.centroid_distance[0]),
                "display_n": int(final_image.shape[0]),
            },
        }
        if not all(math.isfinite(v) for v in (meta["logit_scale"], meta["temperature"])):
            raise ExportError(f"pocket model {pocket_name}: non-finite temperature after training")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        try:
            os.replace(tmp, folder)  # atomic: the folder appears complete or not at all
        except OSError:
            if not _complete(folder):  # someone else finished first: theirs is identical
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _artifact_from_folder(folder)


def register_open_clip_config(artifact: PocketArtifact) -> None:
    """Make the artifact's architecture known to open_clip by name (its documented config registry)."""
    if artifact.open_clip_model_name not in open_clip.list_models():
        open_clip.add_model_config(artifact.model_config_file)


def load_pocket_model(artifact: PocketArtifact, device: str | torch.device = "cpu"):
    """(model, preprocess, tokenizer) through open_clip's normal local-checkpoint path."""
    if not artifact.checkpoint.is_file():
        raise ExportError(
            f"pocket checkpoint {artifact.checkpoint} is missing; delete {artifact.folder} to retrain"
        )
    register_open_clip_config(artifact)
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            artifact.open_clip_model_name, pretrained=str(artifact.checkpoint), device=device
        )
    except (RuntimeError, OSError) as exc:
        raise ExportError(
            f"pocket checkpoint {artifact.checkpoint} does not load ({str(exc).splitlines()[0][:160]}); delete {artifact.folder} to retrain"
        ) from exc
    model.eval()
    return model, preprocess, WordTokenizer.load(artifact.tokenizer_file)
