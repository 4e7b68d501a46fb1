"""The package layout rules the README promises."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import slm
from slm import Memory

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
    "capture": set(),  # transcripts in, candidate memories out: pure functions over text
    "core": {"storage", "trust", "embedding", "graph", "lifecycle", "facts", "recall", "portability", "capture"},
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


def test_data_flows_one_way():
    for layer, allowed in LAYERS.items():
        for path in (ROOT / layer).rglob("*.py"):
            imported = _slm_imports(path) - {layer} - FLOOR
            assert imported <= allowed, f"{path.relative_to(ROOT)} imports {imported - allowed}"


def test_faces_use_the_engine_not_storage():
    for face in FACES:
        for path in (ROOT / face).rglob("*.py"):
            imported = _slm_imports(path) - {face} - FLOOR - (FACES if path == FACE_LAUNCHER else set())
            assert imported <= {"core"}, f"{path.relative_to(ROOT)} imports {imported - {'core'}}"


BACKEND_MODULES = {"apsw", "sqlite_vec", "psycopg", "slm.storage.connection"}  # a backend's driver, or its module


def _backend_names(source: str) -> list[str]:
    """`line name` where a module names a database driver or the SQLite backend module: an import, or a string
    such as `sys.modules.get("apsw")`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]
        else:
            continue
        found += [f"{node.lineno} {n}" for n in names if n in BACKEND_MODULES or n.startswith("apsw.")]
    return found


def test_only_storage_knows_the_database_backend():
    """Above slm/storage the engine holds a `Db` (slm.storage.db) and calls its methods (`write_transaction()`,
    `read_snapshot()`, `data_version()`), never a driver or the SQLite backend's functions: so that another
    backend (issue 24) can sit behind the same repositories."""
    above = [path for path in ROOT.rglob("*.py") if path.relative_to(ROOT).parts[0] != "storage"]
    named = [f"{p.relative_to(ROOT)}:{hit}" for p in above for hit in _backend_names(p.read_text(encoding="utf-8"))]
    assert not named, "use slm.storage.db or a storage function instead: " + ", ".join(named)


def test_the_backend_rule_sees_imports_and_lookups():
    source = "import apsw\nimport sys\nsys.modules.get('apsw')\nfrom slm.storage.connection import x\nimport numpy\n"
    assert sorted(_backend_names(source)) == ["1 apsw", "3 apsw", "4 slm.storage.connection"]


def test_migrations_ship_numbered():
    from slm.storage.migrations import load_migrations

    assert load_migrations()[0].version == 1


STORAGE_ATTRIBUTES = {"conn", "repo", "events", "graph", "agents", "trust", "gaussians", "lifecycle", "claims", "store"}


def _reaches_inside_memory(path: Path) -> list[str]:
    """`mem.conn`, `self.memory.repo` …: a face holding a `Memory` reaching past its methods into storage."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in STORAGE_ATTRIBUTES:
            holder = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
            if holder in {"mem", "memory", "user"}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {holder}.{node.attr}")
    return found


def test_faces_use_the_facade_methods_not_its_repositories():
    reached = [hit for face in FACES for path in (ROOT / face).rglob("*.py") for hit in _reaches_inside_memory(path)]
    assert not reached, "faces call Memory's methods; give the facade one for: " + ", ".join(reached)


def test_the_recall_options_faces_declare_are_recall_keywords():
    import inspect

    from slm import Memory
    from slm.core import recall_options
    from slm.core.recaller import RecallOptions

    declared = {o.name for o in vars(recall_options).values() if isinstance(o, recall_options.RecallOption)}
    keywords = set(inspect.signature(Memory.recall).parameters) - {"self", "options"} | RecallOptions.__optional_keys__
    assert declared and declared <= keywords, declared - keywords


def test_modules_and_functions_stay_readable():
    """No module of slm/ over 600 lines, no function over 80, no module docstring over 15: the house stays small."""
    too_long = []
    for path in ROOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        name = path.relative_to(ROOT)
        if len(text.splitlines()) > 600:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        docstring = ast.get_docstring(tree, clean=False) or ""
        if docstring.count("\n") >= 15:
            too_long.append(f"{name}: a docstring of {docstring.count(chr(10)) + 1} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if node.end_lineno - first >= 80:
                    too_long.append(f"{name}:{node.lineno} {node.name}: {node.end_lineno - first + 1} lines")
    assert not too_long, "split these: " + "; ".join(too_long)


def test_a_one_shot_recall_imports_nothing_it_does_not_need(db_path):
    """A hook or script pays for every import: `slm recall --json` must not load scipy, rich, the write path, the
    entity finders, the claim rules, portability or the trust content patterns, which only writes, tables for
    people, contradictions and transfers use (nor numpy.ma, which `np.unique` imports)."""
    with Memory.open(db_path) as mem:
        mem.remember("The billing service retries webhooks three times.")
    code = (
        "import sys\nfrom slm.cli.main import main\n"
        f"sys.argv = ['slm', 'recall', 'webhook retries', '--db', {str(db_path)!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy' or m in NEVER), file=sys.stderr)"
    ).replace("NEVER", repr(NEVER_IN_RECALL))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)[0]["text"] == "The billing service retries webhooks three times."
    assert done.stderr.strip() == "[]"


NEVER_IN_RECALL = (
    "slm.facts.claim_rules",
    "slm.portability.importer",
    "slm.portability.erasure",
    "slm.trust.content",
    "rich",
    "slm.cli.views",
    "slm.core.writer",
    "slm.core.reindexing",
    "slm.core.knowledge_graph",
    "slm.graph.clusters",
    "slm.graph.entities",
    "numpy.ma",
)


BLAS_THREADS = """
import ctypes, glob, os
import slm, numpy
library = glob.glob(os.path.join(os.path.dirname(numpy.__file__) + ".libs", "*openblas*"))
print(ctypes.CDLL(library[0]).scipy_openblas_get_num_threads64_() if library else "no bundled OpenBLAS")
"""


@pytest.mark.parametrize(("given", "used"), [(None, "1"), ("2", "2")])
def test_numpy_gets_one_blas_thread_unless_the_user_chose(given, used):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env |= {"OPENBLAS_NUM_THREADS": given} if given else {}
    done = subprocess.run([sys.executable, "-c", BLAS_THREADS], env=env, capture_output=True, text=True, check=True)
    if done.stdout.strip() == "no bundled OpenBLAS":
        pytest.skip("this numpy does not bundle scipy-openblas; the thread count cannot be read")
    assert done.stdout.strip() == used
