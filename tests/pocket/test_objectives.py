"""Each objective against a direct, loop-based computation in float64 numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from exporter.pocket.objectives import (
    cloob_loss,
    cyclip_loss,
    infonce_loss,
    objective_loss,
    siglip_loss,
)


def _batch(n: int = 6, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = x + 0.8 * rng.normal(size=(n, d))  # correlated pairs, so the positives matter
    return x / np.linalg.norm(x, axis=1, keepdims=True), y / np.linalg.norm(y, axis=1, keepdims=True)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)


def _dot(a, b) -> float:
    return float(sum(p * q for p, q in zip(a, b, strict=True)))


def _direct_infonce(x, y, s) -> float:
    n = len(x)
    i2t = t2i = 0.0
    for i in range(n):
        i2t -= s * _dot(x[i], y[i]) - math.log(sum(math.exp(s * _dot(x[i], y[j])) for j in range(n)))
        t2i -= s * _dot(y[i], x[i]) - math.log(sum(math.exp(s * _dot(y[i], x[j])) for j in range(n)))
    return 0.5 * (i2t + t2i) / n


def test_infonce_matches_direct():
    x, y = _batch()
    for s in (1.0, 14.3, 100.0):
        assert float(infonce_loss(_t(x), _t(y), s)) == pytest.approx(_direct_infonce(x, y, s), rel=1e-9)


def test_cyclip_matches_direct():
    x, y = _batch(seed=1)
    n, s = len(x), 20.0
    in_modal = sum((_dot(x[j], x[k]) - _dot(y[j], y[k])) ** 2 for j in range(n) for k in range(n)) / n
    cross = sum((_dot(x[j], y[k]) - _dot(x[k], y[j])) ** 2 for j in range(n) for k in range(n)) / n
    expected = _direct_infonce(x, y, s) + 0.25 * in_modal + 0.25 * cross
    assert float(cyclip_loss(_t(x), _t(y), s)) == pytest.approx(expected, rel=1e-9)
    # The cyclic terms are zero exactly when both geometries agree (identical embeddings).
    assert float(cyclip_loss(_t(x), _t(x), s)) == pytest.approx(_direct_infonce(x, x, s), rel=1e-9)


def _retrieve(state, memory, beta):
    out = []
    for q in state:
        w = np.array([math.exp(beta * _dot(q, m)) for m in memory])
        v = (w / w.sum()) @ memory
        out.append(v / np.linalg.norm(v))
    return np.array(out)


def _loob(anchor, cand, s):
    n = len(anchor)
    total = 0.0
    for i in range(n):
        neg = sum(math.exp(s * _dot(anchor[i], cand[j])) for j in range(n) if j != i)
        total += -s * _dot(anchor[i], cand[i]) + math.log(neg)
    return total / n


def test_cloob_matches_direct():
    x, y = _batch(seed=2)
    s, beta = 30.0, 8.0
    u_x, u_y = _retrieve(x, x, beta), _retrieve(y, x, beta)
    v_x, v_y = _retrieve(x, y, beta), _retrieve(y, y, beta)
    expected = _loob(u_x, u_y, s) + _loob(v_y, v_x, s)
    assert float(cloob_loss(_t(x), _t(y), s, hopfield_beta=beta)) == pytest.approx(expected, rel=1e-9)


def test_siglip_matches_direct():
    x, y = _batch(seed=3)
    n = len(x)
    for s, b in ((10.0, -10.0), (3.0, 0.5)):
        total = 0.0
        for i in range(n):
            for j in range(n):
                z = 1.0 if i == j else -1.0
                total -= math.log(1.0 / (1.0 + math.exp(-z * (s * _dot(x[i], y[j]) + b))))
        assert float(siglip_loss(_t(x), _t(y), s, b)) == pytest.approx(total / n, rel=1e-9)


def test_dispatch_and_errors():
    x, y = _batch()
    scale = torch.tensor(5.0, dtype=torch.float64)
    assert float(objective_loss("infonce", _t(x), _t(y), scale)) == pytest.approx(
        float(infonce_loss(_t(x), _t(y), 5.0))
    )
    with pytest.raises(ValueError, match="logit_bias"):
        objective_loss("siglip", _t(x), _t(y), scale)
    with pytest.raises(ValueError, match="unknown objective"):
        objective_loss("triplet", _t(x), _t(y), scale)
