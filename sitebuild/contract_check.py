"""The site build checks the data contract before it trusts an export.

A manifest that does not match the exporter's JSON Schema, holds NaN or
Infinity (which the browser's JSON.parse rejects), or has a schema_version this
build does not read fails the build in one line, instead of failing later in a
reader's browser. The schemas are read as files from exporter/schema/: the
contract is shared, the exporter's code is not imported.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from sitebuild.errors import BuildError, location

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "exporter" / "schema"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"it holds {name}, which JSON readers in browsers reject")


def load_strict_json(path: Path) -> Any:
    """json.loads that refuses NaN and Infinity (Python accepts them; browsers do not)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and the NaN refusal
        raise BuildError(f"is not valid JSON ({exc}); re-run the export", where=location(path)) from exc


@cache
def _schemas() -> dict[str, dict]:
    if not SCHEMA_DIR.is_dir():
        raise BuildError(f"the data contract's schemas are missing from {location(SCHEMA_DIR)}; restore them")
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMA_DIR.glob("*.schema.json")}


def supported_schema_version() -> int:
    """The schema_version this checkout reads: the manifest schema's constant."""
    return int(_schemas()["manifest.schema.json"]["properties"]["schema_version"]["const"])


def check_manifest(manifest: Any, path: Path) -> None:
    """Raise BuildError (one line naming the file and the field) unless the manifest follows the contract."""
    import jsonschema
    from referencing import Registry, Resource

    where = location(path)
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    supported = supported_schema_version()
    if version != supported:
        raise BuildError(
            f"schema_version {version!r} is not the one this site build reads ({supported}); "
            "re-run the export with this checkout",
            where=where,
        )
    registry = Registry().with_resources(
        (name, Resource.from_contents(schema)) for name, schema in _schemas().items()
    )
    validator = jsonschema.Draft202012Validator(_schemas()["manifest.schema.json"], registry=registry)
    error = jsonschema.exceptions.best_match(validator.iter_errors(manifest))
    if error is not None:
        field = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise BuildError(
            f"does not match the data contract at {field}: {error.message}; re-run the export",
            where=where,
        )
