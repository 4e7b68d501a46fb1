"""A project is the repository, not the folder: clones, moved folders and worktrees are one project (real git)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from slm.core.project_identity import identify, normalise_remote

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="these tests run the real git, which is missing")


def git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env | {"HOME": str(cwd)}
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    top = tmp_path / "shop"
    top.mkdir()
    git("init", "-q", cwd=top)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=top)
    (top / "src" / "billing").mkdir(parents=True)
    return top


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:Acme/shop.git",
        "https://github.com/Acme/shop",
        "https://user:secret@GitHub.com/Acme/shop.git",
        "ssh://git@github.com:22/Acme/shop.git/",
    ],
)
def test_every_way_of_writing_a_remote_is_one_project(url):
    assert normalise_remote(url) == "github.com/Acme/shop"


def test_a_repository_with_a_remote_is_keyed_by_it_from_any_subfolder(repo):
    git("remote", "add", "upstream", "https://example.org/other/fork.git", cwd=repo)
    git("remote", "add", "origin", "git@github.com:Acme/shop.git", cwd=repo)
    found = identify(repo / "src" / "billing")
    assert found.key == "git:github.com/Acme/shop" and found.name == "shop" and found.root == repo.resolve()


def test_a_clone_elsewhere_and_a_worktree_are_the_same_project(repo, tmp_path):
    git("remote", "add", "origin", "https://github.com/Acme/shop", cwd=repo)
    clone = tmp_path / "elsewhere" / "my-copy"
    clone.parent.mkdir()
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
    git("remote", "set-url", "origin", "git@github.com:Acme/shop.git", cwd=clone)
    worktree = tmp_path / "wt"
    git("worktree", "add", "-q", str(worktree), cwd=repo)
    assert identify(clone).key == identify(worktree).key == identify(repo).key


def test_without_a_remote_the_root_commit_names_it_even_after_a_move(repo, tmp_path):
    before = identify(repo)
    moved = tmp_path / "renamed"
    repo.rename(moved)
    after = identify(moved)
    assert before.key == after.key and before.key.startswith("root:") and after.name == "renamed"


def test_a_folder_outside_any_repository_is_its_own_project(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    assert identify(folder).key == f"dir:{folder.resolve()}"


def test_an_unreadable_config_falls_back_to_the_root_commit(repo):
    (repo / ".git" / "config").write_bytes(b"\xff\xfe[remote \x00 broken")
    assert identify(repo).key.startswith(("root:", "dir:"))


def test_a_clone_of_a_local_repository_is_its_source_project(repo, tmp_path):
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)  # its origin is the source's folder
    assert identify(clone).key == identify(repo).key and identify(clone).key.startswith("root:")
