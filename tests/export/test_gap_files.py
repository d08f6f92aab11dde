"""gap.json names one gap-step file per step; the step matrices are not inline."""

import json

import numpy as np

from exporter.contract import decode_array, encode_array, validate
from exporter.gap_files import write_gap_files


def _payload(fractions):
    rng = np.random.default_rng(0)
    recall = {"r1": 0.5, "r5": 1.0, "r10": 1.0}
    steps = [
        {"fraction": f, "centroid_distance": 0.5 * (1 - f), "loss_i2t": 1.0, "loss_t2i": 1.0,
         "recall_i2t": recall, "recall_t2i": recall,
         "matrix": encode_array(rng.uniform(-0.2 - f, 0.9, size=(6, 6)), "u1")}
        for f in fractions
    ]
    point = {"delta": 0.0, "distance": 0.5, "loss": 1.0}
    landscape = {k: [0.0, 1.0] for k in ("delta", "distance", "loss", "loss_i2t", "loss_t2i")}
    return {"gap_vector_norm": 0.5, "steps": steps, "landscape": landscape | {"original": point, "closed": point}}


def test_steps_go_to_their_own_files_named_by_gap_json(tmp_path):
    folder = tmp_path / "results/m/d"
    payload = _payload([0.0, 0.5, 1.0])
    write_gap_files(folder, "results/m/d", payload)
    gap = json.loads((folder / "gap.json").read_text())
    validate(gap, "gap", where="gap.json")
    assert [s["matrix_file"] for s in gap["steps"]] == [f"results/m/d/gap-step-{i}.json" for i in range(3)]
    assert all("matrix" not in s for s in gap["steps"])
    for step, original in zip(gap["steps"], payload["steps"], strict=True):
        stored = json.loads((tmp_path / step["matrix_file"]).read_text())
        assert stored["fraction"] == step["fraction"]
        values = decode_array(stored["matrix"])
        np.testing.assert_allclose(values, decode_array(original["matrix"]), atol=1e-5)  # floats kept to 6 digits
        lo, hi = step["matrix_range"]
        assert lo <= values.min() + 1e-6 and values.max() <= hi + 1e-6
        assert abs(values.max() - hi) < 1e-4  # the range is the quantiser's, which spans the data


def test_a_rerun_with_fewer_steps_leaves_no_stale_step_file(tmp_path):
    write_gap_files(tmp_path, "r", _payload([0.0, 0.25, 0.5, 1.0]))
    write_gap_files(tmp_path, "r", _payload([0.0, 1.0]))
    assert sorted(p.name for p in tmp_path.glob("gap-step-*.json")) == ["gap-step-0.json", "gap-step-1.json"]
