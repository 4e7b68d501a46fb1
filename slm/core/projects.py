"""Projects: which project a working directory writes to, and the user's view and repair of projects.

A directory's project is its repository's identity key (`project_identity.identify`) bound to a name in
`project_keys`: two clones, a moved folder and a worktree share the key, so they write to one project. The first
write from a key binds a readable name — the repository's, else `owner-repo`, else `name-<short hash>` — never one
another key holds, so two repositories never silently share a project. A name memories already use with no key
bound (stores from before keys, `-p NAME`) is taken: it is most likely the same repository's. A folder outside
any repository is a project of its own, keyed by its path; the home folder, `/` and what is above home name no
project: writes from there go to `default`, as before.
Rename and merge change every table that stores a project name in one write transaction (`storage/projects.py`).
On a team's store the owner may keep a project to one member (`project_visibility`): read-time, so memories moved
in or out and a project shared again follow without being rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from slm import faults, validation
from slm.core.callers import OWNER_KEY, Caller
from slm.core.project_identity import ProjectIdentity, identify
from slm.errors import Forbidden, InvalidInput, NotFound
from slm.storage.projects import ProjectRepository, ProjectRow

LIST_HINT = "see `slm project list`"
Relabel = Callable[[set[int]], None]  # draws these clusters' labels again (`KnowledgeGraph.relabel`)


def names_for(identity: ProjectIdentity) -> list[str]:
    """The names a new key may take, in order of preference: the repository's own, `owner-repo` for a remote with
    an owner, then the name with a short hash of the key (the root commit's own prefix for a `root:` key)."""
    name = identity.name
    found = [name]
    kind, _, rest = identity.key.partition(":")
    parts = rest.strip("/").split("/")
    if kind == "git" and len(parts) >= 3:
        found.append(f"{parts[-2]}-{name}")
    short = rest[:7] if kind == "root" else hashlib.sha256(identity.key.encode("utf-8")).hexdigest()[:7]
    found += [f"{name}-{short}", f"project-{short}"]
    usable = []
    for candidate in found:
        try:
            usable.append(validation.clean_name(candidate, "project", ""))
        except InvalidInput:  # a folder name no project may have (control characters, too long)
            continue
    return [n for n in dict.fromkeys(usable) if n != validation.DEFAULT_PROJECT]


class Projects:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.store = caller.store
        self.repo = ProjectRepository(caller.store.conn)
        self._identities: dict[Path, ProjectIdentity | None] = {}  # a long-lived server asks git once per folder

    # -- inference ----------------------------------------------------------------------------------------------
    def identity(self, directory: Path) -> ProjectIdentity | None:
        """The identity a directory writes under; None where there is no project to infer (see the module)."""
        directory = Path(directory)
        if directory not in self._identities:
            self._identities[directory] = _inferable(identify(directory))
        return self._identities[directory]

    def project_for(self, directory: Path, agent: str | None = None) -> str:
        """The project `directory` belongs to, binding its key to a free name the first time."""
        identity = self.identity(directory)
        if identity is None:
            return validation.DEFAULT_PROJECT
        bound = self.repo.bound(identity.key)
        if bound is not None:
            return bound
        with self.store.conn.write_transaction():
            bound = self.repo.bound(identity.key)  # another process may have bound it since
            if bound is not None:
                return bound
            taken = [n for n in names_for(identity) if self.repo.key_of_name(n) is None]
            name = taken[0] if taken else f"project-{hashlib.sha256(identity.key.encode()).hexdigest()[:12]}"
            bound = self.repo.bind(identity.key, name, validation.now_utc())
            bound_event = self.caller.event("project.bound", self.caller.name(agent), None, {"project": name})
            self.store.events.append([bound_event])
        return bound

    def named_for(self, directory: Path) -> str | None:
        """The project `directory` is bound to, without binding anything (None: not yet); `default` for a folder
        of no repository (the home folder, `/`), where writes go to the store's default."""
        identity = self.identity(directory)
        return validation.DEFAULT_PROJECT if identity is None else self.repo.bound(identity.key)

    # -- the user's view ----------------------------------------------------------------------------------------
    def listed(self) -> list[dict]:
        kept = self.repo.visibility()
        return [_summary(row, kept.get(row.name)) for row in self.repo.projects()]

    def show(self, name: object) -> dict:
        name = validation.clean_name(name, "project", "")
        rows = self.repo.projects(name)
        if not rows:
            raise NotFound(f"no project named {name!r}", LIST_HINT, what="project")
        kinds, agents = self.repo.kinds_and_agents(name)
        keys = [{"key": k.key, "bound_at": k.bound_at} for k in self.repo.keys(name)]
        contradictions = self.repo.open_contradictions(name)
        more = {"bound": keys, "kinds": kinds, "agents": agents, "open_contradictions": contradictions}
        return _summary(rows[0], self.repo.private_to(name)) | more

    # -- visibility (a team's store) ---------------------------------------------------------------------------------
    def keep_private(self, name: object, member: object | None, relabel: Relabel) -> dict:
        """Keep a project to one member (None: to the owner): every memory of it, now and later, reaches only that
        member's agents and the owner, unless a memory is itself private to someone; others' agents may not write
        there. Cluster labels drawn from its memories are drawn again without them."""
        self._owner_only("keep projects private")
        name = validation.clean_name(name, "project", "")
        if member is None:
            key = OWNER_KEY
        else:  # as `slm agent add --member` names one
            key = "member:" + validation.refuse_owner_name(validation.clean_name(member, "member", ""), "member")
        return self._set_visibility(name, key, "project.kept_private", relabel)

    def share(self, name: object, relabel: Relabel) -> dict:
        """Share a project kept to one member again: its memories reach every agent (but those private themselves)."""
        self._owner_only("share projects")
        return self._set_visibility(validation.clean_name(name, "project", ""), None, "project.shared", relabel)

    def _set_visibility(self, name: str, key: str | None, event: str, relabel: Relabel) -> dict:
        """In one transaction with the labels of the clusters its memories are in, drawn again."""
        with self.store.conn.write_transaction():
            self._must_exist(name)
            self.repo.keep_to(name, key, validation.now_utc())
            faults.step("project.visibility.set")
            relabel(set(self.store.graph.sizes(name)))
            payload = {"project": name, "private_to": key}
            self.store.events.append([self.caller.event(event, self.caller.name(None), None, payload)])
        return payload

    # -- repair ---------------------------------------------------------------------------------------------------
    def rename(self, old: object, new: object) -> dict:
        """Every row naming `old` names `new` instead; `new` must not exist (merge joins two projects)."""
        self._owner_only("rename projects")
        old, new = _two_names(old, new)
        with self.store.conn.write_transaction():
            self._must_exist(old)
            if self.repo.exists(new):
                hint = f"to move the memories of {old!r} into it: slm project merge {old} {new}"
                raise InvalidInput(f"project {new!r} already exists", hint)
            changed = self.repo.rename_everywhere(old, new)
            faults.step("project.rename.renamed")
            payload = {"from": old, "into": new, "memories": changed["memories"], "keys": changed["project_keys"]}
            self.store.events.append([self.caller.event("project.renamed", self.caller.name(None), None, payload)])
        return payload

    def merge(self, source: object, target: object) -> dict:
        """`source`'s memories, claims, contradictions, trust counts and keys move to `target`, in one transaction.
        A current memory of `source` whose exact text `target` already holds becomes that memory's history (as a
        rejected update's restored version does); claims the two projects now share are checked for
        contradictions, and a contradiction both held is kept once."""
        self._owner_only("merge projects")
        source, target = _two_names(source, target)
        now = datetime.now(UTC)
        stamp, user = validation.format_time(now), self.caller.name(None)
        with self.store.conn.write_transaction():
            self._must_exist(source)
            self._must_exist(target, f"to give {source!r} that name: slm project rename {source} {target}")
            self._alike(source, target)
            events, keys = self._historise_twins(source, target, stamp, user)
            twins = len(events)
            faults.step("project.merge.twins")
            keys |= {(s, a, target) for s, a, _ in self.repo.claim_keys(source)}
            changed = self.repo.rename_everywhere(source, target)
            faults.step("project.merge.moved")
            folded = self.repo.doubled_contradictions(target)
            for newer, older in folded:
                self.repo.fold_contradiction(newer, older, stamp)
            changes = self.store.claims.check(keys, now)
            events += [self.caller.event(n.type, user, n.memory_id, n.payload) for n in changes]
            payload = {
                "from": source, "into": target, "memories": changed["memories"], "histories": twins,
                "keys": changed["project_keys"], "contradictions_folded": len(folded),
            }  # fmt: skip
            events.append(self.caller.event("project.merged", user, None, payload))
            self.store.events.append(events)
            faults.step("project.merge.checked")
        return payload | {"contradictions_found": sum(n.type == "contradiction.found" for n in changes)}

    def _historise_twins(self, source: str, target: str, stamp: str, user: str) -> tuple[list, set]:
        """Each current `source` memory whose text a current `target` memory has becomes that one's history."""
        events, keys = [], set()
        for old, kept in self.repo.twins(source, target):
            if not self.store.repo.supersede(old, kept):  # under the lock both are current: cannot fail
                raise InvalidInput(f"memory {old} changed during the merge", "run the merge again")
            keys |= self.store.claims.close_version(old, stamp)
            self.store.claims.link_versions(old, kept)
            events.append(self.caller.event("memory.updated", user, old, {"superseded_by": kept, "merged": True}))
        return events, keys

    def _alike(self, source: str, target: str) -> None:
        """A merge must not share a kept project's memories, nor keep a shared one's to a member, in passing."""
        kept = self.repo.private_to(source), self.repo.private_to(target)
        if kept[0] != kept[1]:
            raise InvalidInput(
                f"{source!r} and {target!r} are not kept to the same member",
                "share both (`slm project share NAME`) or keep both to one member (`slm project private NAME`) first",
            )

    def _owner_only(self, what: str) -> None:
        if not self.caller.is_owner:
            raise Forbidden(f"only the user may {what}", "use `slm project` at the command line")

    def _must_exist(self, name: str, hint: str = LIST_HINT) -> None:
        if not self.repo.exists(name):
            raise NotFound(f"no project named {name!r}", hint, what="project")


def _inferable(identity: ProjectIdentity) -> ProjectIdentity | None:
    """A folder outside any repository is a project of its own, but for the home folder and `/` (and what is
    above home): writing from there names no project."""
    if identity.key.startswith("dir:"):
        home = Path.home().resolve()
        if identity.root == home or identity.root in home.parents or identity.root == Path(identity.root.anchor):
            return None
    return identity


def _two_names(first: object, second: object) -> tuple[str, str]:
    first, second = (validation.clean_name(n, "project", "") for n in (first, second))
    if first == second:
        raise InvalidInput(f"both projects are {first!r}", "name two different projects")
    return first, second


def _summary(row: ProjectRow, private_to: str | None) -> dict:
    return {
        "name": row.name,
        "private_to": private_to,
        "memories": row.memories,
        "versions": row.versions,
        "keys": row.keys,
        "newest": row.newest,
        "oldest": row.oldest,
    }
