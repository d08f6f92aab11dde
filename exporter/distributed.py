"""The embedding stage on Ray Data: the same batches as the local loop, encoded by a pool of workers.

Why Ray Data (and not PySpark, which LAION's clip-retrieval uses): Ray Data is
built for batch inference with stateful workers — a callable class loads the
model once per worker and keeps it, on CPU or GPU (`num_gpus`), and the
driver streams results back while batches are still being encoded. Spark
would need the model re-created per partition (or broadcast through the
JVM), a JVM on every node, and pandas UDFs to move tensors. Ray needs only
`pip install "ray[data]"` on each node.

The on-disk cache of exporter.embed stays the single source of truth: the
driver plans exactly the batches the local loop would encode (the cache
misses, in dataset order, `batch_size` at a time), and writes each batch's
shard atomically as soon as a worker returns it. An export that fails half-way
(a worker dies, a file is bad) keeps every finished shard; the next run
encodes only the rest. Because the batches and shard files are the same, the
result is byte-identical to the local engine whenever the encoder is
deterministic per batch and thread count (a worker runs torch on its one CPU;
some CPU kernels round differently with more threads).

On a real cluster every node needs the project installed (or a Ray
`runtime_env` with this working directory), read access to the images, and
the driver's `--cache` folder is where shards land (only the driver writes).
"""

from __future__ import annotations

import functools
import os
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from exporter.embed import (  # the local engine's cache format, shared on purpose
    _cache_folder,
    _check_vectors,
    _content_key,
    _load_images,
    _read_cache,
    _write_batch,
    embed_dataset,
)
from exporter.errors import ExportError

ModelFactory = Callable[[], Any]


class Batch(NamedTuple):
    """One encoded batch in a Timeline: which worker, when (wall-clock seconds), how many items."""

    worker: str  # host:pid of the Ray worker
    ready: float  # when that worker had built its model
    started: float
    finished: float
    items: int


class Timeline(list):
    """The Batch entries of a Ray embedding pass, for throughput figures (the bench).

    Times come from the workers' clocks, so spans across workers are exact only on one machine.
    """

    def startup_seconds(self, since: float) -> tuple[float, float]:
        """(first, last) worker ready, in seconds from `since` (the driver's time.time() before the call)."""
        readies = [batch.ready for batch in self]
        return min(readies) - since, max(readies) - since

    def steady_rate(self) -> float:
        """Items per second of the whole pool once running: each worker's items over its span
        from model built to last batch finished, summed over workers."""
        spans: dict[str, list[float]] = {}
        for batch in self:
            ready, finished, items = spans.setdefault(batch.worker, [batch.ready, batch.finished, 0])
            spans[batch.worker] = [ready, max(finished, batch.finished), items + batch.items]
        return sum(items / (finished - ready) for ready, finished, items in spans.values() if finished > ready)


def model_factory(spec: str, *, cache_dir: Path, seed: int, device: str = "auto") -> ModelFactory:
    """A picklable recipe for a worker to build the model itself (models are not shipped)."""
    from exporter.models.registry import resolve_model

    return functools.partial(resolve_model, spec, device=device, cache_dir=Path(cache_dir), seed=seed)


class _Encoder:
    """One Ray worker: builds its model once, then encodes whole batches (rows of the plan)."""

    def __init__(self, factory: ModelFactory, dataset_name: str, skip_bad: bool):
        self.model = factory()
        self.ready = time.time()  # wall clock: when this worker could start encoding (see Timeline)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.dataset_name = dataset_name
        self.skip_bad = skip_bad

    def __call__(self, row: dict) -> dict:
        started = time.time()
        try:
            result = self._encode(row)
        except ExportError as error:  # a bad input or model: the driver reports it in one line
            result = {
                "batch": row["batch"],
                "vectors": np.zeros((0, 1), np.float32),
                "bad": [],
                "error": str(error),
            }
        return {**result, "worker": self.worker, "ready": self.ready, "started": started, "finished": time.time()}

    def _encode(self, row: dict) -> dict:
        if row["modality"] == "image":
            holder = _DatasetName(self.dataset_name)
            images, bad = _load_images(list(row["items"]), holder, self.skip_bad)
            vectors = self.model.encode_images(images) if images else np.zeros((0, 1), np.float32)
        else:
            bad = {}
            vectors = self.model.encode_texts([item.text for item in row["items"]])
        return {
            "batch": row["batch"],
            "vectors": np.asarray(vectors, dtype=np.float32),
            "bad": [f"{position}\t{message}" for position, message in sorted(bad.items())],
            "error": "",
        }


class _DatasetName:
    """What _load_images needs of a dataset in a worker: its name, for error lines."""

    def __init__(self, name: str):
        self.name = name


def connect(address: str | None, workers: int) -> None:
    """Join the cluster at `address`, or start a local one with `workers` CPUs; quiet progress."""
    try:
        import ray
        from ray.data import DataContext
    except ImportError as error:
        raise ExportError(
            'engine = "ray" needs Ray Data: pip install "ray[data]" (or set engine = "local")'
        ) from error
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = workers
        # Ray gives a starting node 30 s to register; a busy machine can miss that once or twice.
        for attempt in range(3):
            try:
                ray.init(**kwargs)
                break
            except Exception as error:  # Ray raises a bare Exception on that timeout
                ray.shutdown()
                if attempt == 2:
                    where = f"at {address}" if address else "on this machine"
                    raise ExportError(
                        f"could not start or reach a Ray cluster {where} ({error}); "
                        'check `ray status`, or set engine = "local"'
                    ) from error
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_options.preserve_order = True
    context.execution_options.verbose_progress = False


def _plan(model, dataset, modality, cache_dir, batch_size):
    """(cache folder, cached vectors, batches to encode): exactly the local loop's batches."""
    folder = _cache_folder(cache_dir, model, modality)
    cached = _read_cache(folder)
    missing, seen = [], set()
    for item in dataset.items:
        key = _content_key(modality, item)
        if key not in cached and key not in seen:
            seen.add(key)
            missing.append(item)
    return (
        folder,
        cached,
        [missing[start : start + batch_size] for start in range(0, len(missing), batch_size)],
    )


def _encode_on_ray(
    model, factory, dataset, modalities, *, cache_dir, batch_size, skip_bad, workers, bad_ids, gpus=0.0, timeline=None
):
    """Encode the cache misses of `modalities` in one Ray Data pass (one pool of model-holding workers)."""
    import ray

    plans = {m: _plan(model, dataset, m, cache_dir, batch_size) for m in modalities}
    work = [(m, batch) for m in modalities for batch in plans[m][2]]
    cached = {m: plans[m][1] for m in modalities}
    if not work:
        return cached
    rows = [{"batch": index, "modality": m, "items": batch} for index, (m, batch) in enumerate(work)]
    encoded = ray.data.from_items(rows, override_num_blocks=len(rows)).map(
        _Encoder,
        fn_constructor_kwargs={"factory": factory, "dataset_name": dataset.name, "skip_bad": skip_bad},
        concurrency=min(workers, len(rows)),
        num_cpus=1,
        **({"num_gpus": gpus} if gpus else {}),
    )
    for row in _rows(encoded):
        if row["error"]:
            raise ExportError(row["error"])
        modality, batch = work[int(row["batch"])]
        if timeline is not None:
            timeline.append(
                Batch(str(row["worker"]), float(row["ready"]), float(row["started"]), float(row["finished"]), len(batch))
            )
        bad = dict(line.split("\t", 1) for line in row["bad"])
        for position, message in bad.items():
            bad_ids[_content_key(modality, batch[int(position)])] = message
        kept = [item for position, item in enumerate(batch) if str(position) not in bad]
        if kept:
            vectors = _check_vectors(row["vectors"], len(kept), model, modality)
            keys = [_content_key(modality, item) for item in kept]
            _write_batch(plans[modality][0], keys, vectors)  # this batch is safe now, whatever fails next
            cached[modality].update(zip(keys, vectors, strict=True))
    return cached


def _rows(dataset):
    """Rows of a Ray dataset as they finish; a worker's failure becomes one ExportError line."""
    try:
        yield from dataset.iter_rows()
    except Exception as error:  # a worker died or Ray failed: Ray wraps the cause in its own types
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()  # Ray colours its messages
        first = text.splitlines()[0] if text else type(error).__name__
        raise ExportError(
            f"a Ray worker failed while embedding ({first}); finished batches are cached, run the export again"
        ) from error


def embed_dataset_ray(
    model,
    dataset,
    *,
    factory: ModelFactory,
    cache_dir: Path,
    batch_size: int = 64,
    skip_bad: bool = False,
    address: str | None = None,
    workers: int | None = None,
    gpus: float = 0.0,
    timeline: Timeline | None = None,
) -> dict[str, np.ndarray]:
    """embed_dataset with the cache misses encoded on Ray: same cache, same batches, same result.

    `model` (built on the driver) gives the cache key and checks the vectors;
    `factory` builds the same model inside each worker. `gpus`: GPUs each worker asks Ray
    for (0: CPU workers; Ray hides the GPUs from a worker that asks for none). `timeline`, if
    given, receives one entry per encoded batch (the bench's throughput figures).
    """
    if batch_size < 1:
        raise ExportError(f"batch_size must be at least 1, got {batch_size}")
    if model.info.capabilities.precomputed_vectors:
        return embed_dataset(model, dataset, cache_dir=cache_dir, batch_size=batch_size, skip_bad=skip_bad)
    workers = max(1, int(workers or os.cpu_count() or 1))
    connect(address, workers)
    seen_modalities = set(dataset.modalities)
    if seen_modalities - {"image", "text"}:
        # Only images and texts have encoders; embed_dataset says so in one line.
        return embed_dataset(model, dataset, cache_dir=cache_dir, batch_size=batch_size, skip_bad=skip_bad)
    bad_ids: dict[str, str] = {}
    kwargs = {
        "cache_dir": cache_dir, "batch_size": batch_size, "skip_bad": skip_bad, "workers": workers, "gpus": gpus,
        "timeline": timeline,
    }
    # With skip_bad, images go first: a pair whose image is unreadable is dropped before its
    # caption is planned, as in the local loop. Otherwise both modalities share one pass.
    passes = [("image",), ("text",)] if skip_bad else [tuple(dataset.modalities)]
    for modalities in passes:
        _encode_on_ray(model, factory, dataset, modalities, bad_ids=bad_ids, **kwargs)
        if bad_ids:
            dropped = [item for item in dataset.items if _content_key("image", item) in bad_ids]
            dataset.skipped.extend(
                f"{item.id}: {bad_ids[_content_key('image', item)]} (skipped)" for item in dropped
            )
            dataset.items[:] = [item for item in dataset.items if _content_key("image", item) not in bad_ids]
            bad_ids.clear()
    # Everything is cached now: the local engine assembles the arrays exactly as it always does.
    return embed_dataset(
        model, dataset, cache_dir=cache_dir, batch_size=batch_size, skip_bad=skip_bad, progress=False
    )


# ---------------------------------------------------------------- analyses that outgrow one machine


def ray_block_map(image, text, own, spans, scale, bias, *, in_flight: int | None = None):
    """streaming.per_query's blocks as Ray tasks: arrays go to the object store once, results come back in order.

    Pass as `block_map` to analyses.streaming.per_query / dataset_statistics
    (connect() first). At most `in_flight` blocks are pending, so the driver
    holds a bounded number of results while it folds them in block order.
    """
    import ray

    from exporter.analyses.streaming import one_block

    remote = ray.remote(num_cpus=1)(one_block)
    refs = [ray.put(image), ray.put(text), ray.put(own)]
    window = max(2, int(in_flight or 2 * (int(ray.available_resources().get("CPU", 1)) or 1)))
    pending = []
    for span in spans:
        pending.append(remote.remote(*refs, *span, scale, bias))
        if len(pending) >= window:
            yield ray.get(pending.pop(0))
    for ref in pending:
        yield ray.get(ref)
