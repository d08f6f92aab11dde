"""A model's image and text towers as ONNX files the page runs with onnxruntime-web.

Each tower maps its input to the L2-normalised embedding, exactly as the
exporter's ``encode_images`` / ``encode_texts`` do after preprocessing and
tokenising, so the page and the exporter compute the same vectors. After
writing, the file is run with onnxruntime (Python) on the same inputs and
compared with torch: an export that does not reproduce the model fails here,
in one line, instead of in a reader's browser.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from exporter.contract import write_bytes_atomic
from exporter.errors import ExportError

OPSET = 17
# The browser must agree with the exporter within this (after normalisation); the export checks it too.
MATCH_TOLERANCE = 1e-4
INT8_TOLERANCE = 0.05  # int8 weights change the vectors (by about 1e-2); this catches a broken quantisation


class ImageTower(torch.nn.Module):
    """pixels (B, 3, H, W), already normalised with the model's mean and std -> unit vectors."""

    def __init__(self, clip_model: torch.nn.Module):
        super().__init__()
        self.clip = clip_model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.clip.encode_image(pixels), dim=-1)


class TextTower(torch.nn.Module):
    """token ids (B, context_length), int64 -> unit vectors."""

    def __init__(self, clip_model: torch.nn.Module):
        super().__init__()
        self.clip = clip_model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.clip.encode_text(tokens), dim=-1)


def _onnx_bytes(tower: torch.nn.Module, example: torch.Tensor, input_name: str) -> bytes:
    # The wrapper must be in eval mode itself: the exporter restores the wrapper's mode
    # afterwards, which would otherwise switch BatchNorm layers of the model back to training.
    tower = tower.eval()
    buffer = io.BytesIO()
    # MultiheadAttention's fused inference path (taken by ViT blocks without a mask) has no ONNX
    # export; the plain path computes the same thing.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        return _export(tower, example, input_name, buffer)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _export(tower, example, input_name, buffer) -> bytes:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter; the check below is what counts
        torch.onnx.export(
            tower,
            (example,),
            buffer,
            input_names=[input_name],
            output_names=["embedding"],
            dynamic_axes={input_name: {0: "batch"}, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: small files, no extra dependencies
        )
    return buffer.getvalue()


def quantise_int8(model_bytes: bytes, *, min_size: int = 4096) -> bytes:
    """int8 weights, float arithmetic: every large 2-D float weight is stored as int8 with one
    symmetric scale per row (per column for matrices a MatMul multiplies by) and turned back
    into float by a DequantizeLinear node in front of its users.

    Why not onnxruntime's quantize_dynamic: it also quantises the activations, per batch, so
    a caption's vector depended on the other captions in the batch (by 1e-2 on the tiny test
    tower) and onnxruntime-web's integer kernels rounded differently from the Python ones (1e-2
    again). Here both runtimes compute the same float products of the same dequantised
    weights: the page matches the exporter's int8 file within 1e-4, and the download is still
    about 4x smaller.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    consumers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.op_type)
    inputs = {i.name for i in graph.input}
    kept, nodes = [], []
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype != np.float32 or array.ndim != 2 or array.size < min_size or init.name in inputs:
            kept.append(init)
            continue
        axis = 1 if consumers.get(init.name, set()) <= {"MatMul"} else 0
        peak = np.abs(array).max(axis=1 - axis)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        shaped = scale[None, :] if axis == 1 else scale[:, None]
        q = np.clip(np.rint(array / shaped), -127, 127).astype(np.int8)
        base = f"{init.name}__int8"
        kept += [
            numpy_helper.from_array(q, base),
            numpy_helper.from_array(scale, f"{base}_scale"),
            numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), f"{base}_zero"),
        ]
        nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [base, f"{base}_scale", f"{base}_zero"],
                [init.name],
                axis=axis,
                name=f"{base}_dq",
            )
        )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    existing = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + existing)  # the weights exist before any node uses them
    onnx.checker.check_model(model)
    return model.SerializeToString()


def run_onnx(model_bytes: bytes, array: np.ndarray) -> np.ndarray:
    """Run an exported tower with onnxruntime on the CPU (the Python-side check)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    # Basic rewrites only: the "all" level fuses DequantizeLinear + MatMul into an integer kernel
    # here (onnxruntime's CPU provider) that the page's runtime does not use (5e-3 apart on int8).
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: array})[0]


def export_tower(
    kind: str,
    clip_model: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    *,
    int8: bool = False,
    model_name: str = "",
) -> dict:
    """Write one tower to ``path``; return {file size, max deviation from torch}."""
    tower = (ImageTower if kind == "image" else TextTower)(clip_model)
    input_name = "pixels" if kind == "image" else "tokens"
    try:
        data = _onnx_bytes(tower, example, input_name)
    except Exception as exc:  # the exporter raises many kinds; one line names the model and tower
        raise ExportError(
            f"{model_name}: its {kind} tower cannot be written as ONNX ({str(exc).splitlines()[0][:160]}); "
            f"set live = false for this model"
        ) from exc
    if int8:
        data = quantise_int8(data)
    with torch.no_grad():
        expected = tower.eval()(example).float().cpu().numpy()
    got = run_onnx(data, example.cpu().numpy())
    deviation = float(np.abs(got - expected).max())
    tolerance = INT8_TOLERANCE if int8 else MATCH_TOLERANCE
    if not np.isfinite(deviation) or deviation > tolerance:
        raise ExportError(
            f"{model_name}: the ONNX {kind} tower differs from torch by {deviation:.2g} (> {tolerance}); "
            f"set live = false for this model"
        )
    write_bytes_atomic(Path(path), data)
    return {"bytes": len(data), "deviation": deviation}
