"""Export config parsing: every malformed line fails in one line naming file and key."""

from pathlib import Path

import pytest

from exporter.config import load_config, model_slug, parse_config
from exporter.errors import ExportError

GOOD = """
[export]
seed = 7
projections = ["pca"]

[[datasets]]
name = "samples"
kind = "samples"

[[datasets]]
kind = "shapes"
n = 20

[[models]]
spec = "pocket:infonce"
label = "InfoNCE"
"""


def test_good_config_parses():
    config = parse_config(GOOD, Path("x.toml"))
    assert config.options.seed == 7 and config.options.projections == ("pca",)
    assert [d.name for d in config.datasets] == ["samples", "shapes"]
    assert config.datasets[1].options == {"n": 20}
    assert config.models[0].slug == "pocket-infonce" and config.models[0].label == "InfoNCE"


def test_slug():
    assert model_slug("open_clip:ViT-B-32:openai") == "open-clip-vit-b-32-openai"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[export\nseed=1", r"x\.toml: malformed TOML.*line 1"),
        (GOOD.replace("seed = 7", "sed = 7"), r"unknown key 'sed' \(did you mean 'seed'\?\)"),
        (
            GOOD.replace('projections = ["pca"]', 'projections = ["pcaa"]'),
            r"unknown projection 'pcaa'.*'pca'",
        ),
        (GOOD.replace("seed = 7", 'seed = "7"'), r"'seed' must be int"),
        (GOOD.replace('spec = "pocket:infonce"', 'spec = ""'), r"\[\[models\]\] #1: missing 'spec'"),
        (GOOD.replace('kind = "shapes"', 'kind = "samples"\nname = "samples"'), r"used twice"),
        ("[[models]]\nspec='x'", r"no \[\[datasets\]\]"),
        (GOOD + '\n[[models]]\nspec = "pocket:infonce"\n', r"share the slug"),
        (GOOD.replace("seed = 7", "thumbnail_px = 400"), r"between 1 and 160"),
    ],
)
def test_bad_config_lines(text, message):
    with pytest.raises(ExportError, match=message) as caught:
        parse_config(text, Path("x.toml"))
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ExportError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_shipped_configs_parse():
    from exporter.datasets.registry import DATASET_KINDS
    from exporter.models.registry import MODEL_KINDS

    root = Path(__file__).resolve().parents[2] / "article"
    paths = sorted(root.glob("export*.toml"))
    assert root / "export.toml" in paths
    for path in paths:
        config = load_config(path)
        assert config.datasets and config.models, path
        assert {d.kind for d in config.datasets} <= set(DATASET_KINDS), path
        assert {m.spec.partition(":")[0] for m in config.models} <= set(MODEL_KINDS), path
