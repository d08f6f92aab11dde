"""The Ray engine on a local 2-CPU cluster: same cache shards and vectors as the local loop, and resume."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import numpy as np
import pytest

from exporter.config import DatasetConfig
from exporter.datasets.registry import load_dataset
from exporter.embed import embed_dataset
from exporter.errors import ExportError
from tests.conftest import TINY_ARCH, TINY_CONFIG
from tests.export._support import snapshot, write_pairs_folder

from ._tiny_factory import failing_tiny_model, tiny_model

ray = pytest.importorskip("ray", reason="the distributed engine needs ray[data] (pip install 'ray[data]')")


@pytest.fixture(scope="module")
def local_cluster():
    from exporter.distributed import connect

    connect(None, 2)
    yield
    ray.shutdown()


def test_ray_matches_the_local_engine_and_resumes(tmp_path: Path, local_cluster) -> None:
    from exporter.distributed import Timeline, embed_dataset_ray

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / f"{TINY_ARCH}.json").write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    spec = f"open_clip:{TINY_ARCH}:random"
    pairs = write_pairs_folder(tmp_path / "pairs")

    def dataset():
        return load_dataset(DatasetConfig("colours", "pairs", {"path": str(pairs)}), seed=31415)

    local_cache, ray_cache = tmp_path / "local", tmp_path / "ray"
    model = tiny_model(str(configs), spec, str(local_cache))
    expected = embed_dataset(model, dataset(), cache_dir=local_cache, batch_size=2, progress=False)

    flag = tmp_path / "recovered"
    factory = functools.partial(failing_tiny_model, str(configs), spec, str(ray_cache), str(flag))
    with pytest.raises(ExportError, match="simulated worker crash"):
        embed_dataset_ray(model, dataset(), factory=factory, cache_dir=ray_cache, batch_size=2, workers=2)
    # Whatever finished before the crash is on disk, complete and identical to the local shards.
    written = snapshot(ray_cache)
    expected_shards = snapshot(local_cache)
    assert len(written) < len(expected_shards)
    assert all(expected_shards.get(name) == data for name, data in written.items())
    stamps = {name: (ray_cache / name).stat().st_mtime_ns for name in written}

    flag.touch()  # the next run recovers and encodes only what is missing
    timeline, since = Timeline(), time.time()
    vectors = embed_dataset_ray(
        model, dataset(), factory=factory, cache_dir=ray_cache, batch_size=2, workers=2, timeline=timeline
    )
    assert snapshot(ray_cache) == expected_shards  # shard names and bytes
    assert all((ray_cache / name).stat().st_mtime_ns == stamp for name, stamp in stamps.items())
    for modality in ("image", "text"):
        assert vectors[modality].dtype == np.float32
        assert vectors[modality].tobytes() == expected[modality].tobytes()
    # The timeline holds exactly the batches this run encoded: those the crash left missing.
    missing = set(expected_shards) - set(written)
    assert len(timeline) == len(missing)
    assert sum(batch.items for batch in timeline) == sum(len(np.load(ray_cache / name)["keys"]) for name in missing)
    assert all(since <= batch.ready <= batch.started <= batch.finished for batch in timeline)
    assert 1 <= len({batch.worker for batch in timeline}) <= 2
    first, last = timeline.startup_seconds(since)
    assert 0 <= first <= last
    # The pool's rate: each worker's items over its own span, summed.
    by_worker = {}
    for batch in timeline:
        ready, end, items = by_worker.get(batch.worker, (batch.ready, 0.0, 0))
        by_worker[batch.worker] = (ready, max(end, batch.finished), items + batch.items)
    assert timeline.steady_rate() == pytest.approx(sum(i / (e - r) for r, e, i in by_worker.values()))


def test_statistics_blocks_on_ray_equal_the_threaded_pass(local_cluster, monkeypatch) -> None:
    from exporter.analyses import streaming
    from exporter.distributed import ray_block_map
    from tests.analyses._synthetic import random_pairs

    monkeypatch.setattr(streaming, "BLOCK_CELLS", 40 * 40)  # several blocks
    image, text = random_pairs(120, 8, gap=0.5, noise=1.0, seed=4)
    local = streaming.dataset_statistics(image, text, logit_scale=20.0, resamples=30)
    on_ray = streaming.dataset_statistics(
        image, text, logit_scale=20.0, resamples=30, block_map=ray_block_map
    )
    assert on_ray == local
