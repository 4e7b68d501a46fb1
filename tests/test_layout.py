"""The package layout rules the README promises."""

from __future__ import annotations

import ast
from pathlib import Path

import slm

ROOT = Path(slm.__file__).parent
FLOOR = {"errors", "faults", "validation", "config", "time_expressions"}  # the ground floor every room may use
LAYERS = {
    "storage": set(),
    "trust": {"storage"},
    "embedding": {"storage"},
    "graph": {"storage"},
    "lifecycle": {"storage", "trust"},
    "facts": {"storage", "trust", "graph"},
    "recall": {"storage", "trust", "embedding", "lifecycle", "graph", "facts"},
    "portability": {"storage", "trust", "embedding", "graph"},
    "core": {"storage", "trust", "embedding", "graph", "lifecycle", "facts", "recall", "portability"},
}


def test_no_top_level_mcp_package_shadows_the_sdk():
    assert not (ROOT.parent / "mcp").exists()
    assert (ROOT / "mcp" / "__init__.py").exists()


def _slm_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else ([a.name for a in node.names] if isinstance(node, ast.Import) else [])
        )
        found |= {n.split(".")[1] for n in names if n.startswith("slm.") and n.count(".") >= 1}
        if isinstance(node, ast.ImportFrom) and node.module == "slm":  # `from slm import faults`: a module too
            found |= {a.name for a in node.names if (ROOT / f"{a.name}.py").exists() or (ROOT / a.name).is_dir()}
    return found


FACE_LAUNCHER = ROOT / "cli" / "main.py"  # `slm mcp` / `slm tui` start the other faces, importing them lazily
FACES = {"cli", "mcp", "tui"}
UNTIL_THE_FACADE_GROWS = {"embedding", "storage", "portability", "recall"}  # the CLI's reach, removed step by step


def test_data_flows_one_way():
    for layer, allowed in LAYERS.items():
        for path in (ROOT / layer).rglob("*.py"):
            imported = _slm_imports(path) - {layer} - FLOOR
            assert imported <= allowed, f"{path.relative_to(ROOT)} imports {imported - allowed}"


def test_faces_use_the_engine_not_storage():
    for face in FACES:
        for path in (ROOT / face).rglob("*.py"):
            imported = _slm_imports(path) - {face} - FLOOR - (FACES if path == FACE_LAUNCHER else set())
            allowed = {"core"} | (UNTIL_THE_FACADE_GROWS if face == "cli" else set())
            assert imported <= allowed, f"{path.relative_to(ROOT)} imports {imported - allowed}"


def test_migrations_ship_numbered():
    from slm.storage.migrations import load_migrations

    assert load_migrations()[0].version == 1
