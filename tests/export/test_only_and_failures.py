"""`--only` keeps other models' results; a failure half-way leaves the previous output intact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import exporter.models.registry as model_registry
import exporter.pipeline as pipeline
from exporter.cli import main
from exporter.errors import ExportError

from ._support import (
    assert_one_error_line,
    config_text,
    export_args,
    export_cli,
    export_refused,
    leftovers,
    snapshot,
)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_only_one_model_keeps_the_other_models_results(
    small_config: Path, reference_export: Path, shared_cache: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    before_manifest = _manifest(out)
    before = snapshot(out)
    ckpt_files = {k: v for k, v in before.items() if k.startswith("results/tiny-ckpt/")}
    # 2 datasets x 5 files, plus the gap-step files gap.json names
    assert len([k for k in ckpt_files if "/gap-step-" not in k]) == 10
    assert len(ckpt_files) > 10
    # Spoil one of the selected model's files: the run must rewrite it.
    spoiled = out / "results" / "open-clip-tinytestclip-random" / "colours" / "similarity.json"
    spoiled.write_text("{}\n", encoding="utf-8")

    resolved: list[str] = []
    real_resolve = model_registry.resolve_model

    def spy(spec: str, **kwargs):
        resolved.append(spec)
        return real_resolve(spec, **kwargs)

    monkeypatch.setattr(model_registry, "resolve_model", spy)
    code, stdout, err = export_cli(capsys, small_config, out, shared_cache, "--only", "open-clip-tinytestclip-random")
    assert code == 0, err
    assert "wrote 2 results" in stdout
    assert resolved == ["open_clip:TinyTestCLIP:random"]  # the other model never ran

    after = snapshot(out)
    # The other model's files are exactly as the previous export left them ...
    assert {k: v for k, v in after.items() if k.startswith("results/tiny-ckpt/")} == ckpt_files
    # ... and so is the manifest: the same models, results (both models) and metrics.
    manifest = _manifest(out)
    assert manifest == before_manifest
    assert len(manifest["results"]) == 4 and len(manifest["models"]) == 2
    # The selected model's spoiled file was written afresh.
    assert spoiled.read_bytes() == before[spoiled.relative_to(out).as_posix()]
    assert set(after) == set(before)
    assert leftovers(out) == []


def test_only_unknown_name_is_one_error_line(
    small_config, reference_export, shared_cache, tmp_path, capsys
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    assert "tiny-ckpx" in export_refused(capsys, small_config, out, shared_cache, "--only", "tiny-ckpx")


def test_only_over_an_older_data_format_is_one_error_line(
    small_config, reference_export, shared_cache, tmp_path, capsys
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    manifest = _manifest(out)
    manifest["schema_version"] = 1
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    line = export_refused(capsys, small_config, out, shared_cache, "--only", "tiny-ckpt")
    assert "data format 1" in line and "without --only" in line


class _Boom(RuntimeError):
    pass


@pytest.mark.parametrize("failure", [ExportError, _Boom, KeyboardInterrupt])
def test_failure_half_way_leaves_previous_output_intact(
    failure: type[BaseException],
    small_config: Path,
    reference_export: Path,
    shared_cache: Path,
    tmp_path: Path,
    monkeypatch,
    capsys,
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    before = snapshot(out)
    seen_in_staging: list[str] = []
    real_projection = pipeline._projection_payload
    calls = []

    def failing_projection(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:  # let two (model, dataset) pairs finish completely first
            return real_projection(*args, **kwargs)
        staging = [p for p in out.parent.iterdir() if p.name.startswith(".data.staging-")]
        assert len(staging) == 1
        seen_in_staging.extend(p.relative_to(staging[0]).as_posix() for p in staging[0].rglob("*.json"))
        raise failure("projection failed half-way")

    monkeypatch.setattr(pipeline, "_projection_payload", failing_projection)
    capsys.readouterr()
    if failure is ExportError:
        assert main(export_args(small_config, out, shared_cache)) == 1
        assert "projection failed half-way" in assert_one_error_line(capsys.readouterr().err)
    elif failure is KeyboardInterrupt:
        assert main(export_args(small_config, out, shared_cache)) == 130
    else:
        with pytest.raises(_Boom):
            main(export_args(small_config, out, shared_cache))
    # The failure really came half-way: result files had been written for finished pairs.
    assert "results/open-clip-tinytestclip-random/samples/projections.json" in seen_in_staging
    assert "results/tiny-ckpt/samples/similarity.json" in seen_in_staging
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_single_class_subset_exports_without_zeroshot(tiny_arch, shared_cache, tmp_path, capsys) -> None:
    """The first two samples share one label: zero-shot has nothing to choose between and is left out."""
    config = tmp_path / "export.toml"
    config.write_text(
        config_text(tiny_arch=tiny_arch, pairs=None, checkpoint=None, samples_n=2), encoding="utf-8"
    )
    out = tmp_path / "data"
    assert main(export_args(config, out, shared_cache)) == 0
    manifest = _manifest(out)
    items = json.loads((out / "datasets" / "samples" / "items.json").read_text(encoding="utf-8"))
    assert len(items["classes"]) == 1
    (result,) = manifest["results"]
    assert "zeroshot" not in result["files"] and "zeroshot" not in result["metrics"]
    assert not (out / "results" / "open-clip-tinytestclip-random" / "samples" / "zeroshot.json").exists()


@pytest.mark.parametrize(
    ("damage", "kind"),
    [
        (lambda text: text[: len(text) // 2], "JSONDecodeError"),
        (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "results"}), "KeyError"),
        (lambda text: json.dumps({**json.loads(text), "models": 3}), "TypeError"),
    ],
)
def test_only_with_a_damaged_previous_manifest(
    damage, kind, small_config, reference_export, shared_cache, tmp_path, capsys
) -> None:
    out = tmp_path / "data"
    shutil.copytree(reference_export, out)
    manifest = out / "manifest.json"
    manifest.write_text(damage(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    line = export_refused(capsys, small_config, out, shared_cache, "--only", "samples")
    assert f"{manifest} is damaged ({kind}" in line and "without --only" in line, line
