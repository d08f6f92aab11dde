"""gap.json and its per-step matrix files (the layout; the numbers come from pipeline._gap_payload).

The close-the-gap steps' similarity matrices are ~99% of the gap data, yet only
the explorer's slider draws them, one step at a time, and the compare figure
only the last; the landscape figure reads just the curves. So each step's
matrix goes to its own file, `gap-step-<i>.json`, and gap.json names it
(`matrix_file`, relative to the data folder) together with the range its
quantised values can take (`matrix_range`), so a figure can fix one colour
scale over all steps without fetching them.
"""

from __future__ import annotations

from pathlib import Path

from exporter.contract import write_json_atomic

STEP_FILE = "gap-step-{index}.json"


def matrix_range(matrix: dict) -> list[float]:
    """[lowest, highest] value a quantised typed array can hold (offset + scale * code)."""
    top = {"u1": 255, "u2": 65535}[matrix["dtype"]]
    offset, scale = float(matrix.get("offset", 0.0)), float(matrix.get("scale", 1.0))
    return [offset, offset + scale * top]


def write_gap_files(folder: Path, rel: str, payload: dict, *, validate: bool = True, matrices: bool = True) -> None:
    """Write gap.json and one gap-step file per step into folder (rel: its path in the data folder).

    `payload` is gap.json with each step's typed-array `matrix` inline. Step files of an
    earlier run with more steps are removed, so gap.json names exactly the files present.
    validate=False skips the schema check (the benchmarks' very large synthetic exports).
    matrices=False (a result that ships embeddings.json) writes no step file: each step keeps its
    measures and matrix_range, and the browser applies the step's shift to the embeddings.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(STEP_FILE.format(index="*")):
        stale.unlink()
    steps = []
    for index, step in enumerate(payload["steps"]):
        name = STEP_FILE.format(index=index)
        matrix = step["matrix"]
        summary = {key: value for key, value in step.items() if key != "matrix"}
        if not matrices:
            steps.append(summary | {"matrix_range": matrix_range(matrix)})
            continue
        write_json_atomic(folder / name, {"fraction": step["fraction"], "matrix": matrix}, schema="gap-step" if validate else None)
        steps.append(summary | {"matrix_file": f"{rel}/{name}", "matrix_range": matrix_range(matrix)})
    write_json_atomic(folder / "gap.json", payload | {"steps": steps}, schema="gap" if validate else None)
