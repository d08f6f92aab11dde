import ast
from pathlib import Path

import exporter.analyses as analyses

PACKAGE = Path(analyses.__file__).parent
ALLOWED_TOP_LEVEL = {
    "__future__",
    "collections",
    "concurrent",  # streaming: blocks on a thread pool
    "dataclasses",
    "functools",
    "os",
    "warnings",
    "numpy",
    "scipy",
    "sklearn",
    "threadpoolctl",
    "umap",
    "exporter",
}


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_analyses_import_only_numeric_libraries():
    # The site build and prose-only authors must be able to use these without torch.
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        extra = _imported_modules(path) - ALLOWED_TOP_LEVEL
        assert not extra, f"{path.name} imports {sorted(extra)}"


def test_public_api_is_exported():
    for name in analyses.__all__:
        assert callable(getattr(analyses, name)) or name == "METHODS", name
