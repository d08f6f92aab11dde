"""embeddings_above: a result above it ships embeddings.json instead of the similarity and gap-step matrices."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from exporter.analyses import gap_shift
from exporter.config import parse_config
from exporter.contract import decode_array
from exporter.errors import ExportError
from exporter.pipeline import run_export
from tests.scale._sampled import embeddings_dataset

CONFIG = """
[export]
projections = ["pca"]
figure_pairs = {figure_pairs}
bootstrap = 20
clusters = 2
retrieval_k = 3
{extra}

[[datasets]]
name = "many"
kind = "embeddings"
path = "{root}"

[[models]]
spec = "embeddings:{root}/m1"
"""


def export(tmp_path: Path, name: str, above: int | None, figure_pairs: int = 16) -> tuple[Path, dict]:
    root = tmp_path / "vectors"
    if not root.exists():
        embeddings_dataset(root, 40)
    extra = "" if above is None else f"embeddings_above = {above}"
    config = parse_config(
        CONFIG.format(figure_pairs=figure_pairs, extra=extra, root=root.as_posix()), tmp_path / f"{name}.toml"
    )
    out = tmp_path / name
    run_export(config, out, cache_dir=tmp_path / "cache")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return out, manifest["results"][0]


def _load(out: Path, rel: str) -> dict:
    return json.loads((out / rel).read_text(encoding="utf-8"))


def test_above_the_threshold_embeddings_replace_the_matrices(tmp_path: Path) -> None:
    matrix_out, matrix_result = export(tmp_path, "matrices", None)  # default threshold: 16 pairs stay matrices
    emb_out, emb_result = export(tmp_path, "embeddings", 15)
    assert "embeddings" not in matrix_result["files"]
    assert emb_result["files"]["embeddings"].endswith("/embeddings.json")
    folder = emb_out / Path(emb_result["files"]["gap"]).parent
    assert sorted(p.name for p in folder.glob("gap-step-*.json")) == []
    assert len(list((matrix_out / Path(matrix_result["files"]["gap"]).parent).glob("gap-step-*.json"))) == 5
    # The same statistics and the same clusters either way.
    assert emb_result["metrics"] == matrix_result["metrics"]
    sim_m, sim_e = _load(matrix_out, matrix_result["files"]["similarity"]), _load(emb_out, emb_result["files"]["similarity"])
    assert "matrix" not in sim_e and (sim_e["order"], sim_e["clusters"]) == (sim_m["order"], sim_m["clusters"])
    full = decode_array(sim_m["matrix"])
    assert sim_e["range"] == pytest.approx([full.min(), full.max()], abs=1e-6)
    # gap.json: every step's measures and colour range, no step file.
    gap_m, gap_e = _load(matrix_out, matrix_result["files"]["gap"]), _load(emb_out, emb_result["files"]["gap"])
    for step_m, step_e in zip(gap_m["steps"], gap_e["steps"], strict=True):
        assert "matrix_file" not in step_e
        assert {k: v for k, v in step_m.items() if k != "matrix_file"} == step_e
    # retrieval.json keeps k and recall; the lists are computed in the browser.
    ret_m, ret_e = _load(matrix_out, matrix_result["files"]["retrieval"]), _load(emb_out, emb_result["files"]["retrieval"])
    assert ret_e == {"k": ret_m["k"], "recall": ret_m["recall"]}


def test_embeddings_reproduce_the_matrices_and_the_gap_steps(tmp_path: Path) -> None:
    """Dequantised codes + the shipped offsets give every step's matrix within int8 error."""
    matrix_out, matrix_result = export(tmp_path, "matrices", None)
    emb_out, emb_result = export(tmp_path, "embeddings", 0)
    emb = _load(emb_out, emb_result["files"]["embeddings"])
    rows, dims = map(int, emb["vectors"]["shape"].split(","))
    codes = np.frombuffer(base64.b64decode(emb["vectors"]["bdata"]), dtype=np.int8).reshape(rows, dims)
    values = codes * decode_array(emb["scales"]).astype(np.float64)
    values /= np.linalg.norm(values, axis=1, keepdims=True)
    offsets = decode_array(emb["offsets"]).reshape(len(emb["modalities"]), dims)
    n = emb["n"]
    gap = _load(matrix_out, matrix_result["files"]["gap"])
    for step in gap["steps"]:
        f = step["fraction"]
        moved = np.concatenate([values[m * n : (m + 1) * n] - f * offsets[m] for m in range(2)])
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        shipped = decode_array(_load(matrix_out, step["matrix_file"])["matrix"])
        # u1 step of the matrix (half a code) + the int8 codes' error on 6-d unit vectors.
        assert np.abs(moved @ moved.T - shipped).max() < step["matrix_range"][1] / 255 + 0.02
    # The offsets are the close_gap direction: image moves by -g/2, text by +g/2.
    img, txt = (np.load(tmp_path / "vectors" / "m1" / f"{m}.npy") for m in ("image", "text"))
    assert np.linalg.norm(offsets[0] - offsets[1]) == pytest.approx(
        np.linalg.norm(gap_shift.gap_vector(img, txt)), rel=0.5
    )  # the sample's gap, close to the whole dataset's


@pytest.mark.parametrize("value", ["-1", "1.5", '"many"', "true"])
def test_embeddings_above_is_validated_in_one_line(tmp_path: Path, value: str) -> None:
    with pytest.raises(ExportError) as error:
        parse_config(f"[export]\nembeddings_above = {value}\n[[datasets]]\nname='s'\nkind='shapes'\n"
                     "[[models]]\nspec='pocket:infonce'\n", tmp_path / "c.toml")
    assert "embeddings_above" in str(error.value) and "\n" not in str(error.value)


def test_link_preview_card_draws_an_embeddings_result(tmp_path: Path) -> None:
    """The site build's preview card (sitebuild.linkpreview) computes its cells from embeddings.json."""
    import io

    from PIL import Image

    from sitebuild.linkpreview import matrix_png

    matrix_out, matrix_result = export(tmp_path, "matrices", None)
    emb_out, emb_result = export(tmp_path, "embeddings", 0)
    from_matrix = matrix_png(_load(matrix_out, matrix_result["files"]["similarity"]))
    from_embeddings = matrix_png(
        _load(emb_out, emb_result["files"]["similarity"]), _load(emb_out, emb_result["files"]["embeddings"])
    )
    a, b = (np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int) for png in (from_matrix, from_embeddings))
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 3  # the same picture, up to int8 codes and the u1 step
    assert np.abs(a - b).max() < 60


def test_retrieval_without_lists_keeps_every_pairs_recall() -> None:
    from exporter.contract import encode_array, validate
    from exporter.embedding_payload import without_lists

    lists = {"indices": encode_array(np.zeros((2, 1), dtype=np.int64), "u2"), "scores": encode_array(np.ones((2, 1)), "u1")}
    recall = {"i2t": {"r1": 1.0, "r5": 1.0, "r10": 1.0}, "t2i": {"r1": 0.5, "r5": 1.0, "r10": 1.0}}
    full = {"k": 1, "i2t": lists, "t2i": lists, "recall": recall,
            "pairs": [{"modalities": ["image", "audio"], "i2t": lists, "t2i": lists, "recall": recall}]}
    slim = without_lists(full)
    assert slim == {"k": 1, "recall": recall, "pairs": [{"modalities": ["image", "audio"], "recall": recall}]}
    validate(slim, "retrieval", where="test")
    with pytest.raises(ExportError):  # one direction's list without the other is not a valid file
        validate({"k": 1, "i2t": lists, "recall": recall}, "retrieval", where="test")
