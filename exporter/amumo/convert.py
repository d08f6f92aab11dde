"""`python -m exporter import amumo FOLDER --out FOLDER`: one Amumo dataset -> the `embeddings` layout.

Output (readable by kind = "embeddings" and spec = "embeddings:<out>/<model>"):
    pairs.jsonl                   id, text, image (thumbnail), credit, licence, source, ...
    media/<i>.webp                thumbnails of the images (never the audio itself)
    <model>/<modality>.npy        recovered embeddings at the recovered rank (float16 or float32)
    <model>/model.json            label, logit scale, family, recovery and alignment evidence
    import-report.json            the per-model table and where the data came from
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exporter.amumo import alignment as align
from exporter.amumo.checks import TOLERANCE, agrees, amumo_loss, gap_distance
from exporter.amumo.folder import AmumoFolder, open_folder, published_number, read_matrix, read_prompts
from exporter.amumo.models import amumo_model
from exporter.contract import canonical_json, staged_folder, write_bytes_atomic
from exporter.errors import ExportError
from exporter.gram import recover_embeddings, split_modalities

THUMBNAIL_PX = 160
SOURCE = (
    "Humer et al. 2024, 'Understanding and Comparing Latent Space Characteristics of Multi-Modal Models' "
    "(Journal of Visualization and Interaction; data from repository journalovi/2024-humer-amumo, MIT)"
)
# COCO's licence ids (annotations/captions_val2017.json "licenses").
COCO_LICENCES = {
    1: "CC BY-NC-SA 2.0",
    2: "CC BY-NC 2.0",
    3: "CC BY-NC-ND 2.0",
    4: "CC BY 2.0",
    5: "CC BY-SA 2.0",
    6: "CC BY-ND 2.0",
    7: "No known copyright restrictions",
    8: "United States Government Work",
}
STORAGE = {"float16": np.float16, "float32": np.float32}


@dataclass
class ModelResult:
    name: str
    label: str = ""
    rows: int = 0
    rank: int = 0
    precision: str = ""
    tolerance: float = math.nan
    reconstruction_error: float = math.nan  # of the recovery, in float64
    stored_error: float = math.nan  # after rounding to the storage dtype
    gap: float = math.nan
    gap_published: float | None = None
    loss: float = math.nan
    loss_published: float | None = None
    alignment: align.Alignment | None = None
    agreement: float = math.nan  # median correlation of text-text blocks with the other models
    refused: str | None = None  # the one-line reason when left out
    vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def row(self) -> dict[str, Any]:
        """The table row as JSON values (nothing measured -> null)."""
        return {key: _json_number(value) for key, value in self._row().items()}

    def _row(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "label": self.label,
            "rows": self.rows,
            "rank": self.rank,
            "precision": self.precision,
            "tolerance": self.tolerance,
            "reconstruction_error": self.reconstruction_error,
            "stored_error": self.stored_error,
            "gap": self.gap,
            "gap_published": self.gap_published,
            "loss": self.loss,
            "loss_published": self.loss_published,
            "alignment": None if self.alignment is None else self.alignment.summary(),
            "alignment_status": None if self.alignment is None else self.alignment.status,
            "z_published": None if self.alignment is None else self.alignment.z_published,
            "z_final": None if self.alignment is None else self.alignment.z_final,
            "agreement_with_other_models": None if math.isnan(self.agreement) else self.agreement,
            "refused": self.refused,
        }


@dataclass
class ImportReport:
    dataset: str
    n: int
    modalities: tuple[str, ...]
    models: list[ModelResult]
    seconds: float
    prompts: list[str]
    folder: AmumoFolder
    out: Path | None = None

    @property
    def kept(self) -> list[ModelResult]:
        return [m for m in self.models if m.refused is None]

    def table(self) -> str:
        header = f"{'model':<32} {'rows':>5} {'rank':>5} {'max|XXᵀ−S|':>11} {'gap (published)':>22} {'loss (published)':>22}  alignment"
        lines = [header, "-" * len(header)]
        for m in self.models:
            gap = f"{m.gap:.4f} ({_fmt(m.gap_published)})"
            loss = f"{m.loss:.4f} ({_fmt(m.loss_published)})"
            evidence = m.refused if m.refused else (m.alignment.summary() if m.alignment else "")
            if not math.isnan(m.agreement):
                evidence += f"; agrees with other models r={m.agreement:.2f}"
            lines.append(
                f"{m.name:<32} {m.rows:>5} {m.rank:>5} {m.stored_error:>11.1e} {gap:>22} {loss:>22}  {evidence}"
            )
        return "\n".join(lines)


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _modality_index(modalities: tuple[str, ...], name: str) -> int | None:
    return modalities.index(name) if name in modalities else None


def _analyse_model(
    folder: AmumoFolder, name: str, n: int, reference: np.ndarray | None, dtype: str
) -> ModelResult:
    """Recover, verify against meta_info, check alignment; raises ExportError with one line on refusal."""
    result = ModelResult(name)
    model = amumo_model(name)
    result.label = model.label
    where = f"{folder.name}: model '{name}'"
    matrix = read_matrix(folder.matrices[name])
    k = len(folder.modalities)
    result.rows = matrix.shape[0]
    if matrix.shape[0] != n * k:
        raise ExportError(f"{where}: {matrix.shape[0]} rows, but the folder's other models have {n * k}")
    recovery = recover_embeddings(matrix, name=where)
    result.rank, result.precision = recovery.rank, recovery.precision
    result.tolerance, result.reconstruction_error = recovery.tolerance, recovery.reconstruction_error
    stored = recovery.vectors.astype(STORAGE[dtype])
    wide = stored.astype(np.float64)
    result.stored_error = float(np.max(np.abs(wide @ wide.T - matrix)))
    blocks = split_modalities(recovery.vectors, folder.modalities, name=where)
    image, text = blocks[folder.modalities[0]], blocks[folder.modalities[1]]
    meta = folder.meta.get(name, {})
    result.gap = gap_distance(image, text)
    result.gap_published = published_number(meta, "gap_distance")
    result.loss = amumo_loss(image, text, model.logit_scale)
    result.loss_published = published_number(meta, "loss")
    if agrees(result.gap, result.gap_published) is False:
        raise ExportError(
            f"{where}: recovered gap {result.gap:.6f} differs from meta_info gap_distance "
            f"{result.gap_published:.6f} by more than {TOLERANCE:g}; the matrix and meta file do not belong together"
        )
    if agrees(result.loss, result.loss_published) is False:
        raise ExportError(
            f"{where}: Amumo's loss at logit scale {model.logit_scale:g} is {result.loss:.6f}, not the published "
            f"{result.loss_published:.6f}; check the model's logit scale in exporter/amumo/models.py"
        )
    t = _modality_index(folder.modalities, "text")
    text_block = matrix[t * n : (t + 1) * n, t * n : (t + 1) * n] if t is not None else None
    verdict = align.check_alignment(text_block, reference if text_block is not None else None)
    result.alignment = verdict
    if verdict.status == "refused":
        raise ExportError(
            f"{where}: its rows do not match the folder's captions (evidence z = {verdict.z_published:.1f}, "
            f"needs ≥ {align.ALIGNED_Z:g}; the published seed's permutation reaches only z = {verdict.z_final:.1f}); "
            "pass --skip-bad to leave it out"
        )
    order = verdict.order if verdict.order is not None else np.arange(n)
    q = align.stacked_order(order, k)
    result.vectors = {
        modality: stored[q][i * n : (i + 1) * n] for i, modality in enumerate(folder.modalities)
    }
    return result


def analyse_folder(root: Path, *, skip_bad: bool = False, dtype: str = "float16") -> ImportReport:
    start = time.perf_counter()
    folder = open_folder(root)
    k = len(folder.modalities)
    sizes = {}
    for name, path in folder.matrices.items():
        sizes[name] = _matrix_rows(path)
    rows = sorted(set(sizes.values()))
    if len(rows) > 1 or rows[0] % k:
        detail = ", ".join(f"{name}: {r}" for name, r in sizes.items())
        raise ExportError(
            f"{folder.root}: the models' matrices must all be {k}N x {k}N for modalities "
            f"{', '.join(folder.modalities)} ({detail})"
        )
    n = rows[0] // k
    prompts = read_prompts(folder.prompts_file, n)
    reference = align.caption_similarity(prompts)
    results = []
    for name in folder.matrices:
        try:
            results.append(_analyse_model(folder, name, n, reference, dtype))
        except ExportError as error:
            if not skip_bad:
                raise
            failed = ModelResult(name, refused=str(error))
            results.append(failed)
    kept = [r for r in results if r.refused is None]
    if not kept:
        raise ExportError(f"{folder.root}: every model was refused; nothing to import")
    t = _modality_index(folder.modalities, "text")
    if t is not None and len(kept) > 1:
        blocks = {}
        for r in kept:
            x = r.vectors["text"].astype(np.float64)
            blocks[r.name] = x @ x.T
        for name, value in align.cross_model_agreement(blocks).items():
            next(r for r in kept if r.name == name).agreement = value
    return ImportReport(
        folder.name, n, folder.modalities, results, time.perf_counter() - start, prompts, folder
    )


def _matrix_rows(path: Path) -> int:
    if path.suffix.lower() == ".npy":
        return int(np.load(path, mmap_mode="r").shape[0])
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


# ---------------------------------------------------------------- provenance and media


def _item_provenance(folder: AmumoFolder, n: int, licence: str | None, credit: str | None) -> list[dict]:
    """Per item: credit, licence, source link(s); from the folder's provenance files where it has them."""
    items: list[dict[str, str]] = [{} for _ in range(n)]
    coco = folder.extra_files.get("coco_provenance.json")
    if coco is not None:
        records = json.loads(coco.read_text(encoding="utf-8"))
        by_k = {int(r["k"]): r for r in records}
        for i in range(n):
            r = by_k.get(i)
            if r is None:
                raise ExportError(f"{coco}: no record for item {i}; the provenance must cover every image")
            name = COCO_LICENCES.get(int(r["license"]), f"COCO licence id {r['license']}")
            items[i] = {
                "credit": f"COCO val2017 image {r['coco_id']} from Flickr, {name}",
                "licence": name,
                "source": str(r["flickr_url"]),
                "coco_id": str(r["coco_id"]),
            }
        return items
    infos = folder.extra_files.get("infos.csv")
    if infos is not None:
        with open(infos, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        if len(rows) != n or "video_id" not in rows[0]:
            raise ExportError(f"{infos}: expected {n} rows with a video_id column")
        for i, row in enumerate(rows):
            link = f"https://www.youtube.com/watch?v={row['video_id']}"
            items[i] = {
                "credit": f"AudioSet clip {row['video_id']} (YouTube); labels CC BY 4.0 (Gemmeke et al. 2017)",
                "licence": "labels CC BY 4.0; video and audio not redistributed (no licence given)",
                "source": link,
                "audio": f"AudioSet clip {row['video_id']}",
                "audio_link": link,
                "image_link": link,
            }
            if row.get("animal"):
                items[i]["animal"] = str(row["animal"])
        return items
    for i in range(n):
        items[i] = {
            "credit": credit or f"{folder.name} from the Amumo article's data",
            "licence": licence or "not stated in the Amumo folder",
        }
    return items


def _thumbnail(path: Path) -> bytes:
    from exporter.datasets.base import open_rgb
    from exporter.thumbnails import encode_thumbnail

    return encode_thumbnail(open_rgb(path), THUMBNAIL_PX)


def _write_output(report: ImportReport, out: Path, licence: str | None, credit: str | None) -> None:
    folder, prompts = report.folder, report.prompts
    provenance = _item_provenance(folder, report.n, licence, credit)
    # YouTube thumbnails carry no licence: link to the video instead of copying them.
    copy_images = "infos.csv" not in folder.extra_files
    with staged_folder(out) as staging:
        lines = []
        for i in range(report.n):
            row: dict[str, Any] = {"id": str(i), "text": prompts[i]}
            image = folder.root / "images" / f"{i}.jpg"
            if copy_images and image.is_file():
                write_bytes_atomic(staging / "media" / f"{i}.webp", _thumbnail(image))
                row["image"] = f"media/{i}.webp"
            audio = folder.root / "audios" / f"{i}.wav"
            if audio.is_file():
                preview = _spectrogram(audio)
                if preview is not None:
                    write_bytes_atomic(staging / "media" / f"audio-{i}.webp", preview)
                    row["audio_preview"] = f"media/audio-{i}.webp"
            row.update(provenance[i])
            lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
        (staging / "pairs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for m in report.kept:
            model = amumo_model(m.name)
            target = staging / m.name
            target.mkdir()
            for modality, vectors in m.vectors.items():
                buffer = io.BytesIO()
                np.save(buffer, np.ascontiguousarray(vectors))
                (target / f"{modality}.npy").write_bytes(buffer.getvalue())
            meta = {
                "name": model.label,
                "amumo_name": m.name,
                "family": model.family,
                "objective": model.objective,
                "weights": model.weights,
                "logit_scale": model.logit_scale,
                "description": f"{model.description}. Embeddings recovered (up to rotation) from Amumo's "
                f"published {folder.name} similarities: rank {m.rank}, max |XXᵀ−S| {m.stored_error:.1e}",
                "trained": True,
                "recovered_from_similarities": True,
                "import": m.row(),
            }
            (target / "model.json").write_text(
                json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
            )
        summary = {
            "dataset": report.dataset,
            "n": report.n,
            "modalities": list(report.modalities),
            "source": SOURCE,
            "models": [m.row() for m in report.models],
        }
        (staging / "import-report.json").write_text(
            json.dumps(json.loads(canonical_json(summary)), indent=1, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )


def _spectrogram(path: Path) -> bytes | None:
    """A spectrogram preview of an audio clip (the audio itself is never copied)."""
    try:
        from exporter.media import spectrogram_image  # realarticle's media helpers
    except ImportError:
        return None
    from exporter.thumbnails import encode_thumbnail

    return encode_thumbnail(spectrogram_image(path), THUMBNAIL_PX)


def import_amumo(
    root: Path,
    out: Path,
    *,
    skip_bad: bool = False,
    dtype: str = "float16",
    licence: str | None = None,
    credit: str | None = None,
) -> ImportReport:
    if dtype not in STORAGE:
        raise ExportError(f"--dtype {dtype}: use float16 or float32")
    if Path(out).resolve() == Path(root).resolve():
        raise ExportError(f"--out {out}: must differ from the Amumo folder, which is read, never changed")
    report = analyse_folder(root, skip_bad=skip_bad, dtype=dtype)
    _write_output(report, Path(out), licence, credit)
    report.out = Path(out)
    return report
