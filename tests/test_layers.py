"""The code's shape: view -> flow -> service/selector -> model, never back (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import portero

SOURCE = Path(portero.__file__).parent
LOWER_LAYERS = ("services.py", "selectors.py", "models.py")


def _imported_modules(path: Path) -> set[str]:
    """Return every module `path` imports, with `from a import b` counted as `a` and `a.b`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_services_selectors_and_models_import_no_flow():
    lower = [path for name in LOWER_LAYERS for path in SOURCE.rglob(name)]
    assert len(lower) > 10  # the walk found the apps
    back_edges = {
        str(path.relative_to(SOURCE)): sorted(
            module
            for module in _imported_modules(path)
            if module.split(".")[-1] == "flows" or ".flows." in module
        )
        for path in lower
    }
    assert {path: modules for path, modules in back_edges.items() if modules} == {}
