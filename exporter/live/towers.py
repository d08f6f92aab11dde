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
INT8_TOLERANCE = 0.05  # int8 weights change the vectors; this only catches a broken quantisation


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


def quantise_int8(model_bytes: bytes) -> bytes:
    """Dynamic int8 quantisation of the weights (onnxruntime.quantization), activations stay float."""
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(model_bytes)
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        return dst.read_bytes()


def run_onnx(model_bytes: bytes, array: np.ndarray) -> np.ndarray:
    """Run an exported tower with onnxruntime on the CPU (the Python-side check)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
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
