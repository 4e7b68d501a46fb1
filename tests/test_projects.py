"""Projects on real git repositories: clones, a moved folder and a worktree write to one project; names never join
two repositories; rename and merge change every table that names a project, in one transaction a kill cannot
split; erasure takes the keys; the CLI and the MCP server infer the project from their folder."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastmcp import Client
from mcp_types import Implementation

from slm import Memory
from slm.errors import Forbidden, InvalidInput, NotFound
from slm.mcp.server import build_server
from slm.portability import erasure
from slm.storage.connection import open_connection
from tests.faults import check_store, copy_store, crash_at, finish, memories, snapshot
from tests.test_cli import run, run_json

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="these tests run the real git, which is missing"),
    pytest.mark.both_backends,
]
JAN = "2026-01-10T09:00:00Z"


def git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env | {"HOME": str(cwd)}
    )
    return done.stdout.strip()


def new_repo(top: Path, remote: str | None = None) -> Path:
    top.mkdir(parents=True)
    git("init", "-q", cwd=top)
    git("commit", "-q", "--allow-empty", "-m", f"first of {top}", cwd=top)
    if remote is not None:
        git("remote", "add", "origin", remote, cwd=top)
    return top


def rows(db: Path, sql: str) -> list[tuple]:
    conn = open_connection(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- one repository, one project ------------------------------------------------------------------------------------
@pytest.mark.parametrize("remote", ["git@github.com:Acme/shop.git", None], ids=["remote", "root commit"])
def test_clones_a_moved_folder_and_a_worktree_write_to_one_project(mem, tmp_path, remote):
    repo = new_repo(tmp_path / "shop", remote)
    (repo / "src").mkdir()
    clone = tmp_path / "elsewhere" / "my-copy"
    clone.parent.mkdir()
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
    if remote is not None:  # a clone's origin is the folder it came from: point it at the same remote, written anew
        git("remote", "set-url", "origin", "https://github.com/Acme/shop", cwd=clone)
    else:  # a local path as origin is a remote of its own (project_identity): a copy without one has its root
        git("remote", "remove", "origin", cwd=clone)
    worktree = tmp_path / "wt"
    git("worktree", "add", "-q", str(worktree), cwd=repo)
    first = mem.project_for(repo / "src")
    assert first == "shop"
    assert mem.project_for(clone) == mem.project_for(worktree) == first
    moved = tmp_path / "moved" / "renamed-shop"
    moved.parent.mkdir()
    shutil.move(str(clone), moved)
    assert mem.project_for(moved) == first
    for folder in (repo, worktree, moved):
        mem.remember(f"A note written in {folder.name}", project=mem.project_for(folder))
    [shop] = mem.projects()
    assert (shop["name"], shop["memories"], shop["keys"]) == ("shop", 3, 1)


def test_another_repository_with_the_same_name_gets_its_own_project(mem, tmp_path):
    acme = new_repo(tmp_path / "a" / "shop", "git@github.com:Acme/shop.git")
    other = new_repo(tmp_path / "b" / "shop", "https://gitlab.com/other/shop.git")
    third = new_repo(tmp_path / "c" / "shop", "https://gitlab.com/other/shop-mirror/shop.git")
    local = new_repo(tmp_path / "d" / "shop")  # no remote: its root commit
    assert mem.project_for(acme) == "shop"
    assert mem.project_for(other) == "other-shop"
    assert mem.project_for(third) == "shop-mirror-shop"
    root = git("rev-list", "--max-parents=0", "HEAD", cwd=local)
    assert mem.project_for(local) == f"shop-{root[:7]}"
    assert len({k["key"] for p in mem.projects() for k in mem.project(p["name"])["bound"]}) == 4


def test_a_name_memories_use_without_a_key_is_taken_and_default_never(mem, tmp_path):
    mem.remember("Written with -p before projects had keys", project="shop")
    assert mem.project_for(new_repo(tmp_path / "shop")) == "shop"  # most likely the same repository's
    assert mem.project_for(new_repo(tmp_path / "x" / "default")).startswith("default-")


def test_home_and_the_root_name_no_project_and_other_folders_name_their_own(mem, tmp_path, monkeypatch):
    home = tmp_path / "home" / "me"
    (home / "notes").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    assert mem.project_for(home) == mem.project_for(Path("/")) == "default"
    assert mem.project_for(home / "notes") == "notes"
    assert mem.project_named_for(home) == "default" and mem.projects()[0]["name"] == "notes"


# -- rename ---------------------------------------------------------------------------------------------------------
def contradicting(mem: Memory, project: str, first: str = "PostgreSQL 15", second: str = "MySQL 8") -> list[int]:
    return [
        mem.remember(f"api-gateway uses {first}", agent="claude-code", project=project, time=JAN),
        mem.remember(f"api-gateway stores its data in {second}", agent="cursor", project=project, time=JAN),
    ]


def names_in(db: Path | Memory) -> dict[str, set]:
    """The project names each table holds: of a SQLite file, or through an open Memory's connection (any backend)."""
    found = {}
    for table in ("memories", "claims", "contradictions", "principal_projects", "project_keys"):
        sql = f"SELECT DISTINCT project FROM {table}"
        found[table] = {r[0] for r in (db.conn.execute(sql) if isinstance(db, Memory) else rows(db, sql))}
    return found


def test_rename_changes_every_table_that_names_the_project(mem, tmp_path):
    repo = new_repo(tmp_path / "shop")
    contradicting(mem, mem.project_for(repo))
    mem.remember("Kept elsewhere", project="other")
    done = mem.rename_project("shop", "storefront")
    assert done == {"from": "shop", "into": "storefront", "memories": 2, "keys": 1}
    assert names_in(mem) == {
        "memories": {"storefront", "other"}, "claims": {"storefront"}, "contradictions": {"storefront"},
        "principal_projects": {"storefront", "other"}, "project_keys": {"storefront"},
    }  # fmt: skip
    assert mem.project_for(repo) == "storefront"  # the key follows the name
    assert mem.events_after(0)[-1].type == "project.renamed"


def test_rename_refuses_what_it_cannot_do_and_says_what_to_do(mem, store_at):
    mem.remember("one", project="a")
    mem.remember("two", project="b")
    with pytest.raises(InvalidInput) as exists:
        mem.rename_project("a", "b")
    assert "slm project merge a b" in exists.value.hint
    with pytest.raises(NotFound):
        mem.rename_project("nope", "c")
    with pytest.raises(InvalidInput):
        mem.rename_project("a", "a")
    with pytest.raises(InvalidInput):
        mem.rename_project("a", "bad\u200bname")
    with Memory.open(store_at, protocol="mcp-stdio") as agent, pytest.raises(Forbidden):
        agent.rename_project("a", "c")
    assert {p["name"] for p in mem.projects()} == {"a", "b"}


# -- merge ----------------------------------------------------------------------------------------------------------
def test_merge_moves_memories_keys_and_claims_and_keeps_duplicates_as_history(mem, tmp_path):
    old = mem.project_for(new_repo(tmp_path / "old-shop"))
    new_folder = new_repo(tmp_path / "shop")
    new = mem.project_for(new_folder)
    same = "The billing service retries webhooks three times."
    earlier = mem.remember("The billing service retries webhooks twice.", project=old)
    twin = mem.update(earlier, same)
    kept = mem.remember(same, project=new)
    mem.remember("api-gateway uses PostgreSQL 15", agent="claude-code", project=old, time=JAN)
    mem.remember("api-gateway stores its data in MySQL 8", agent="cursor", project=new, time=JAN)
    assert mem.contradictions() == []  # two projects: no contradiction yet
    done = mem.merge_projects(old, new)
    assert (done["memories"], done["histories"], done["keys"], done["contradictions_found"]) == (3, 1, 1, 1)
    assert mem.get(twin).superseded_by == kept and [v.id for v in mem.versions(kept)] == [twin, earlier]
    assert mem.memory_claims(twin)["valid_to"] is not None  # history holds no longer
    assert [c["project"] for c in mem.contradictions()] == [new]
    assert names_in(mem)["memories"] == {new} and names_in(mem)["project_keys"] == {new}
    assert mem.project_for(tmp_path / "old-shop") == new  # its folder writes to the merged project now
    assert [h.id for h in mem.recall(same, k=3, project=new)].count(kept) == 1 and twin not in [
        h.id for h in mem.recall(same, k=5)
    ]
    assert {e.type for e in mem.events_after(0)} >= {"project.merged", "memory.updated", "contradiction.found"}


def test_a_contradiction_both_projects_held_is_kept_once(mem):
    contradicting(mem, "a")
    contradicting(mem, "b", "PostgreSQL 14", "MySQL 5")
    assert mem.merge_projects("a", "b")["contradictions_folded"] == 1
    database = [c for c in mem.contradictions(status=None) if c["attribute"] == "database"]
    assert sorted(c["status"] for c in database) == ["open", "resolved"]
    [folded] = [c for c in database if c["status"] == "resolved"]
    assert "merged into contradiction" in folded["resolution"]


def test_merge_refuses_unknown_projects_and_points_to_rename(mem):
    mem.remember("one", project="a")
    with pytest.raises(NotFound) as missing:
        mem.merge_projects("a", "b")
    assert "slm project rename a b" in missing.value.hint
    with pytest.raises(NotFound):
        mem.merge_projects("c", "a")
    with pytest.raises(InvalidInput):
        mem.merge_projects("a", "a")


@pytest.fixture(scope="module")
def two_projects(slm_home, tmp_path_factory) -> Path:
    """A store with projects a and b: a duplicate text, a version chain, claims that disagree across them, keys."""
    folder = tmp_path_factory.mktemp("merge")
    db = folder / "store" / "memory.db"
    with Memory.open(db) as mem:
        for name in ("a", "b"):
            (folder / "work" / name).mkdir(parents=True)
            assert mem.project_for(folder / "work" / name) == name
        contradicting(mem, "a")
        contradicting(mem, "b", "PostgreSQL 14", "MySQL 5")
        first = mem.remember("Releases are cut on Mondays.", project="a")
        mem.update(first, "Releases are cut on Tuesdays.")
        mem.remember("Releases are cut on Tuesdays.", project="b")
        mem.remember("Only in b: the cache is Redis 7.", project="b")
    return db


def merged_state(db: Path) -> dict:
    """What a merge must end with, whatever crashed before: every row moved, one current copy of each text."""
    return {
        "names": names_in(db),
        "current": sorted(rows(db, "SELECT content FROM memories WHERE superseded_by IS NULL")),
        "chains": rows(db, "SELECT id, superseded_by FROM memories ORDER BY id"),
        "contradictions": rows(db, "SELECT id, status FROM contradictions ORDER BY id"),
    }


@pytest.fixture(scope="module")
def merged_whole(two_projects, tmp_path_factory) -> dict:
    db = copy_store(two_projects, tmp_path_factory.mktemp("whole") / "store")
    finish(["project", "merge", "a", "b", "--db", db, "--json"])
    return merged_state(db)


@pytest.mark.parametrize("step", ["project.merge.twins", "project.merge.moved", "project.merge.checked"])
def test_a_merge_killed_at_any_step_loses_nothing_and_completes_when_run_again(
    step, two_projects, merged_whole, tmp_path
):
    db = copy_store(two_projects, tmp_path / "store")
    own, before = memories(db), snapshot(db)
    crash_at(step, ["project", "merge", "a", "b", "--db", db, "--json"])
    check_store(db, own)
    assert snapshot(db) == before  # one transaction: nothing of it committed
    done = json.loads(finish(["project", "merge", "a", "b", "--db", db, "--json"]).stdout)
    assert done["histories"] == 1 and done["keys"] == 1 and done["contradictions_folded"] == 1
    check_store(db, own)
    assert merged_state(db) == merged_whole
    assert merged_whole["names"]["memories"] == {"b"} and len(merged_whole["current"]) == 6


def test_a_rename_killed_before_its_commit_leaves_the_store_as_it_was(two_projects, tmp_path):
    db = copy_store(two_projects, tmp_path / "store")
    own, before = memories(db), snapshot(db)
    crash_at("project.rename.renamed", ["project", "rename", "a", "c", "--db", db])
    check_store(db, own)
    assert snapshot(db) == before


# -- erasure --------------------------------------------------------------------------------------------------------
def test_erasing_a_project_or_its_last_memory_drops_its_keys(mem, tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        mem.remember(f"A note of {name}", project=mem.project_for(tmp_path / name))
    receipt = erasure.erase(mem.transfers, erasure.Scope.of(project="a"))
    assert receipt["counts"]["orphaned project keys"] == 1
    assert {r[0] for r in mem.conn.execute("SELECT project FROM project_keys")} == {"b", "c"}
    erasure.erase(mem.transfers, erasure.Scope.of(ids=[mem.list(project="b")[0].id]))
    assert {r[0] for r in mem.conn.execute("SELECT project FROM project_keys")} == {"c"}


@pytest.mark.sqlite_only  # `slm erase` takes no server URL yet, and the store's files are read
def test_erase_all_drops_every_key_and_leaves_no_folder_name_in_the_files(mem, db_path, tmp_path):
    (tmp_path / "c").mkdir()
    mem.remember("A note of c", project=mem.project_for(tmp_path / "c"))
    run("erase", "--all", "--yes", "--db", db_path)
    assert rows(db_path, "SELECT count(*) FROM project_keys") == [(0,)]
    folder = str(tmp_path / "c").encode()
    assert all(folder not in path.read_bytes() for path in db_path.parent.iterdir() if path.is_file())


# -- the faces --------------------------------------------------------------------------------------------------------
def test_the_cli_infers_the_project_for_writes_and_manages_projects(db_path, tmp_path, monkeypatch):
    repo = new_repo(tmp_path / "shop", "git@github.com:Acme/shop.git")
    clone = tmp_path / "copy"
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
    git("remote", "set-url", "origin", "https://github.com/Acme/shop.git", cwd=clone)
    monkeypatch.chdir(repo)
    first = run_json("remember", "The shop deploys with Helm", "--db", db_path)
    assert first["project"] == "shop"  # --json says where an inferred write went
    first = first["id"]
    monkeypatch.chdir(clone)
    assert run_json("remember", "The shop's CI runs on GitHub Actions", "--db", db_path)["project"] == "shop"
    assert run_json("remember", "Elsewhere", "-p", "misc", "--db", db_path)["project"] == "misc"
    updated = run_json("update", first, "The shop deploys with Helm 3", "--db", db_path)["id"]
    listed = run_json("project", "list", "--db", db_path)
    assert sorted((p["name"], p["memories"], p["keys"], p["here"]) for p in listed) == [
        ("misc", 1, 0, False), ("shop", 2, 1, True),
    ]  # fmt: skip
    shown = run_json("project", "show", "--db", db_path)
    assert shown["name"] == "shop" and shown["bound"][0]["key"] == "git:github.com/Acme/shop"
    assert run_json("show", updated, "--db", db_path)["project"] == "shop"  # update keeps the memory's
    assert run_json("project", "rename", "shop", "storefront", "--db", db_path)["into"] == "storefront"
    refused = run_json("project", "rename", "misc", "storefront", "--db", db_path, code=2)
    assert "already exists" in refused["error"] and "slm project merge misc storefront" in refused["hint"]
    merged = run_json("project", "merge", "misc", "storefront", "--db", db_path)
    assert merged["memories"] == 1 and merged["from"] == "misc"
    missing = run_json("project", "show", "misc", "--db", db_path, code=2)
    assert missing["error"] == "no project named 'misc'" and "slm project list" in missing["hint"]
    human = run("project", "list", "--db", db_path).stdout
    assert "storefront" in human and "*" in human


def test_the_cli_keeps_a_project_to_a_member_and_shares_it_again(mem, db_arg):
    mem.remember("Alice's hiring roadmap: two engineers by March", project="hiring")
    mem.remember("The shop deploys with Helm", project="shop")
    assert run_json("project", "private", "hiring", "--member", "alice", "--db", db_arg) == {
        "project": "hiring", "private_to": "member:alice",
    }  # fmt: skip
    assert "private to alice" in run("project", "list", "--db", db_arg).stdout
    assert run("project", "show", "hiring", "--db", db_arg).stdout.startswith("hiring (private to alice)")
    assert {p["name"]: p["private_to"] for p in run_json("project", "list", "--db", db_arg)}["shop"] is None
    assert run("project", "share", "hiring", "--db", db_arg).stdout.strip() == "hiring: shared"
    assert run("project", "private", "hiring", "--db", db_arg).stdout.strip() == "hiring: private to you"
    missing = run_json("project", "private", "nowhere", "--db", db_arg, code=2)
    assert missing["error"] == "no project named 'nowhere'" and "slm project list" in missing["hint"]


def test_keeping_a_project_private_killed_before_its_commit_leaves_the_store_as_it_was(two_projects, tmp_path):
    db = copy_store(two_projects, tmp_path / "store")
    own, before = memories(db), snapshot(db)
    crash_at("project.visibility.set", ["project", "private", "a", "--member", "alice", "--db", db])
    check_store(db, own)
    assert snapshot(db) == before


@pytest.mark.anyio
async def test_the_mcp_server_writes_to_its_workspace_project_and_reads_everywhere(store_at, tmp_path):
    repo = new_repo(tmp_path / "shop", "git@github.com:Acme/shop.git")
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        memory.remember("A note of another project", project="ops")
        (repo / "src").mkdir()
        server = build_server(memory, workspace=repo / "src")
        async with Client(server, client_info=Implementation(name="cursor", version="1")) as c:
            stored = (await c.call_tool("remember", {"content": "The shop's cart is in Vue"})).structured_content
            named = (await c.call_tool("remember", {"content": "Ops note", "project": "ops"})).structured_content
            found = (await c.call_tool("recall", {"query": "note of another project"})).structured_content
        assert stored["project"] == "shop" and named["project"] == "ops"
        assert "ops" in {m["project"] for m in found["memories"]}  # reads are not narrowed to the workspace
        async with Client(build_server(memory), client_info=Implementation(name="cursor", version="1")) as c:
            loose = (await c.call_tool("remember", {"content": "No workspace"})).structured_content
        assert loose["project"] == "default"
