"""The package layout rules the README promises."""

from __future__ import annotations

import ast
from pathlib import Path

import slm

ROOT = Path(slm.__file__).parent
# The recall package and the rest of the engine (app) still share helpers until the house issue splits app;
# embedding reads app's config, the ground floor, until that moves out of app too.
LAYERS = {
    "storage": set(),
    "trust": {"storage"},
    "embedding": {"storage", "app"},
    "lifecycle": {"storage", "trust"},
    "facts": {"storage", "trust", "app"},  # app: entities, time words and validation, until they move
    "recall": {"storage", "trust", "app", "lifecycle"},
    "app": {"storage", "trust", "recall", "embedding", "lifecycle", "facts"},
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


FACE_LAUNCHER = ROOT / "app" / "cli.py"  # `slm mcp` / `slm tui` start the other faces, importing them lazily
FACES = {"mcp", "tui"}


def test_data_flows_one_way():
    for layer, allowed in LAYERS.items():
        for path in (ROOT / layer).rglob("*.py"):
            # errors and faults (the failpoints of tests/faults.py) are dependency-free modules every layer may use
            imported = _slm_imports(path) - {layer, "errors", "faults"} - (FACES if path == FACE_LAUNCHER else set())
            assert imported <= allowed, f"{path.relative_to(ROOT)} imports {imported - allowed}"


def test_faces_use_the_engine_not_storage():
    for face in FACES:
        for path in (ROOT / face).rglob("*.py"):
            imported = _slm_imports(path) - {face, "errors"}
            assert imported <= {"app"}, f"{path.relative_to(ROOT)} imports {imported - {'app'}}"


def test_migrations_ship_numbered():
    from slm.storage.migrations import load_migrations

    assert load_migrations()[0].version == 1
