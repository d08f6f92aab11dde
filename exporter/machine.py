"""What decides whether two exports are byte-identical: the machine's CPU, torch and its threads.

Same config + seed gives byte-identical data files on the same machine. On
another CPU, training and matrix products may take other vectorised code paths
(torch's kernel dispatch, MKL, oneDNN choose by instruction set) and round
differently, so numbers differ in the last digits and, through training, more.
build-info.json records these facts so two exports can be compared knowingly.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

# Instruction-set extensions that change which float kernels run.
_RELEVANT_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "asimd",
    "sve",
)
# Environment variables that pin those code paths (recorded when set).
_PINNING_VARIABLES = (
    "ATEN_CPU_CAPABILITY",
    "MKL_CBWR",
    "ONEDNN_MAX_CPU_ISA",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def _cpuinfo() -> tuple[str, list[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), []
    model, flags = platform.processor() or platform.machine(), set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model") and value.strip():
            model = value.strip()
        elif key in ("flags", "Features"):
            flags |= set(value.split())
    return model, sorted(flag for flag in _RELEVANT_FLAGS if flag in flags)


def machine_facts() -> dict[str, Any]:
    model, flags = _cpuinfo()
    facts: dict[str, Any] = {
        "cpu": model,
        "cpu_flags": flags,
        "architecture": platform.machine(),
        "cpu_count": os.cpu_count(),
        "pinned_by_environment": {
            name: os.environ[name] for name in _PINNING_VARIABLES if name in os.environ
        },
    }
    try:
        import torch
    except ImportError:
        return facts
    facts["torch"] = torch.__version__
    facts["torch_threads"] = torch.get_num_threads()
    facts["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    facts["torch_blas"] = "mkl" if torch.backends.mkl.is_available() else "other"
    from exporter.pocket.train import PocketSpec

    # Pocket training runs with this many threads and deterministic kernels (train._deterministic_torch).
    facts["pocket_training_threads"] = PocketSpec.__dataclass_fields__["threads"].default
    return facts
