"""The Python side of the data contract: typed arrays, canonical JSON, atomic writes, schemas."""

import base64
import json

import numpy as np
import pytest

from exporter import contract
from exporter.errors import ExportError


def test_u1_quantisation_round_trips_within_half_a_step():
    rng = np.random.default_rng(0)
    values = rng.uniform(-0.3, 0.9, size=(20, 20))
    encoded = contract.encode_array(values, "u1")
    assert encoded["dtype"] == "u1" and encoded["shape"] == "20,20"
    assert len(base64.b64decode(encoded["bdata"])) == 400
    decoded = contract.decode_array(encoded)
    assert np.max(np.abs(decoded - values)) <= contract.quantisation_step(encoded) + 1e-12
    # The extremes are exact: offset is the minimum, offset + 255 * scale the maximum.
    assert decoded.min() == pytest.approx(values.min()) and decoded.max() == pytest.approx(values.max())


def test_i2_projection_keeps_four_significant_digits():
    values = np.array([[-3.25, 1.5], [0.0, 7.75], [2.0, -1.0]])
    decoded = contract.decode_array(contract.encode_array(values, "i2"))
    assert np.max(np.abs(decoded - values)) < 1e-3


def test_integer_indices_are_stored_raw():
    indices = np.array([[0, 5, 65535], [3, 2, 1]])
    encoded = contract.encode_array(indices, "u2")
    assert "offset" not in encoded and "scale" not in encoded
    assert np.array_equal(contract.decode_array(encoded), indices)
    with pytest.raises(ExportError, match="do not fit"):
        contract.encode_array(np.array([70000]), "u2")


def test_constant_array_and_bad_input():
    decoded = contract.decode_array(contract.encode_array(np.full((3, 3), 0.5), "u1"))
    assert np.allclose(decoded, 0.5)
    with pytest.raises(ExportError, match="NaN"):
        contract.encode_array(np.array([1.0, np.nan]), "u1")
    with pytest.raises(ExportError, match="dtype"):
        contract.encode_array(np.array([1.0]), "x9")


def test_similarity_matrix_costs_at_most_1_4_bytes_per_cell():
    n = 200
    matrix = np.random.default_rng(1).uniform(-1, 1, size=(n, n))
    text = contract.canonical_json(contract.encode_array(matrix, "u1"))
    assert len(text.encode()) / (n * n) <= 1.4


def test_canonical_json_is_stable_and_rounded(tmp_path):
    payload = {"b": np.float64(0.123456789), "a": [np.int64(3), 1.0 / 3.0], "c": True}
    path = tmp_path / "x.json"
    contract.write_json_atomic(path, payload)
    first = path.read_bytes()
    contract.write_json_atomic(path, dict(reversed(list(payload.items()))))
    assert path.read_bytes() == first
    assert first == b'{"a":[3,0.333333],"b":0.123457,"c":true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary files left


def test_failed_write_leaves_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "data.json"
    path.write_text("old")

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(contract.os, "replace", explode)
    with pytest.raises(OSError):
        contract.write_bytes_atomic(path, b"new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_schema_validation_names_the_field():
    good = {
        "dataset": "d",
        "n": 1,
        "modalities": ["image", "text"],
        "classes": None,
        "items": [{"id": "a", "text": "a cat", "image": None, "label": None}],
    }
    contract.validate(good, "items", where="items.json")
    bad = json.loads(json.dumps(good))
    bad["items"][0]["text"] = ""
    with pytest.raises(ExportError, match=r"items\.json.*items/0/text"):
        contract.validate(bad, "items", where="items.json")


def test_nonfinite_metric_is_refused():
    with pytest.raises(ExportError, match="non-finite"):
        contract.round_floats({"loss": float("inf")})
