"""Which project a working directory belongs to: the repository, not the folder. Two clones, a moved folder and a
git worktree are one project, keyed by the normalised URL of the repository's remote (`origin` first) or, without
a remote, by its root commit. The remote is read from git's own files (no process, a few file reads: hooks start
fast); only a repository without a remote asks `git` for its root commit."""

from __future__ import annotations

import configparser
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 2.0  # `git rev-list` on a repository without a remote; a hook must not hang on it
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")  # git@github.com:owner/repo.git
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/]+@)?([^/:]+)(?::\d+)?/(.+)$", re.I)  # https://user@host:443/o/r.git


@dataclass(frozen=True)
class ProjectIdentity:
    key: str  # "git:github.com/owner/repo", or "root:<sha1 of the root commit>", or "dir:<absolute path>"
    name: str  # a readable default name: the repository's (or folder's) last path part
    root: Path  # the working tree's top folder


def identify(directory: Path) -> ProjectIdentity:
    """The project `directory` belongs to; a folder outside any repository is its own project."""
    directory = directory.resolve()
    top, git_dir = _repository(directory)
    if top is None or git_dir is None:
        return ProjectIdentity(f"dir:{directory}", directory.name or "root", directory)
    remote = _remote_url(_common_dir(git_dir))
    if remote is not None and not _local(remote):
        normal = normalise_remote(remote)
        return ProjectIdentity(f"git:{normal}", normal.rsplit("/", 1)[-1], top)
    root = _root_commit(top)
    if root is not None:
        return ProjectIdentity(f"root:{root}", top.name, top)
    return ProjectIdentity(f"dir:{top}", top.name, top)


def normalise_remote(url: str) -> str:
    """host/path of a remote URL, lower-case host, no user, port, scheme or `.git`: every way of writing the same
    repository's address gives the same text (`git@github.com:o/r.git`, `https://github.com/o/r`)."""
    url = url.strip()
    found = _URL.match(url) or _SCP_LIKE.match(url)
    if found is None:  # a local path used as a remote: the path is the identity
        return str(Path(url).expanduser()).rstrip("/").removesuffix(".git")
    host, path = found.group(1).lower(), found.group(2).strip("/")
    return f"{host}/{path.removesuffix('.git').rstrip('/')}"


def _local(url: str) -> bool:
    """A remote that is a folder on this machine (a clone of a local repository): it names where the other copy
    lies, not the repository, so the root commit keys it, as it keys that copy."""
    url = url.strip()
    return url.startswith(("/", ".", "~", "file:")) or (not _URL.match(url) and not _SCP_LIKE.match(url))


def _repository(directory: Path) -> tuple[Path | None, Path | None]:
    """(working tree top, its git folder): `.git` is a folder, or a file naming one (worktrees, submodules)."""
    for folder in (directory, *directory.parents):
        marker = folder / ".git"
        if marker.is_dir():
            return folder, marker
        if marker.is_file():
            text = marker.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                git_dir = Path(text.removeprefix("gitdir:").strip())
                return folder, git_dir if git_dir.is_absolute() else (folder / git_dir).resolve()
    return None, None


def _common_dir(git_dir: Path) -> Path:
    """A worktree's git folder names the main repository's in `commondir`; that one holds the config."""
    pointer = git_dir / "commondir"
    if pointer.is_file():
        common = Path(pointer.read_text(encoding="utf-8").strip())
        return common if common.is_absolute() else (git_dir / common).resolve()
    return git_dir


def _remote_url(git_dir: Path) -> str | None:
    config = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        config.read(git_dir / "config", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    remotes = [s for s in config.sections() if s.startswith('remote "') and config.has_option(s, "url")]
    remotes.sort(key=lambda section: section != 'remote "origin"')  # origin first, then the order written
    return config.get(remotes[0], "url") if remotes else None


def _root_commit(top: Path) -> str | None:
    """The first commit of the repository's history (the oldest, should there be several roots); None without git
    or commits."""
    try:
        done = subprocess.run(
            ["git", "-C", str(top), "rev-list", "--max-parents=0", "HEAD"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    roots = done.stdout.split()
    return roots[-1] if done.returncode == 0 and roots else None
