"""One memory in full, as the detail pane shows it: the text, where it came from, how far it is trusted and why,
its lifecycle zone, its earlier versions, its claims and when they hold, its cluster, entities and graph
neighbours, and (for a search hit) why it was found. Built on the store's thread, drawn on the UI's."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from slm.core.memory import Hit, Memory
from slm.tui.common import preview

NEIGHBOURS = 5  # graph neighbours listed
VERSIONS = 5  # earlier versions listed


class MemoryDetail(VerticalScroll):
    def compose(self) -> ComposeResult:
        yield Static("Select a memory and press enter.", id="detail-body")

    def show(self, view: Text) -> None:
        self.query_one("#detail-body", Static).update(view)
        self.scroll_home(animate=False)


def describe(memory: Memory, memory_id: int, hit: Hit | None) -> Text:
    row = memory.get(memory_id)
    view = Text(row.content + "\n\n")
    _facts(view, _provenance(memory, memory_id))
    _section(view, "trust", _trust(memory, memory_id))
    _section(view, "history", _history(memory, memory_id))
    _section(view, "claims", _claims(memory, memory_id))
    _section(view, "graph", _graph(memory, memory_id))
    if hit is not None:
        view.append_text(why(hit))
    return view


def _provenance(memory: Memory, memory_id: int) -> list[tuple[str, str]]:
    row = memory.get(memory_id)
    life = memory.memory_lifecycle(memory_id)
    how = "verified" if row.agent_id is not None else "claimed"
    return [
        ("memory", f"#{row.id}" + (f", replaced by #{row.superseded_by}" if row.superseded_by else "")),
        ("project", row.project),
        ("written by", f"{row.agent} ({how}, over {row.protocol})"),
        ("when", row.event_time or row.created_at),
        ("kind", row.kind + (f"   tags: {', '.join(row.tags)}" if row.tags else "")),
        ("session", row.session or "—"),
        ("zone", f"{life.get('zone', '—')}  (weight {life.get('rank_weight', 1.0):.2f}, {life.get('uses', 0)} uses)"),
    ]


def _trust(memory: Memory, memory_id: int) -> list[tuple[str, str]]:
    trust = memory.memory_trust(memory_id) or {}
    author = trust.get("author", {})
    verdict = (
        "QUARANTINED: held out of recall"
        if trust.get("quarantined")
        else "approved by you" * bool(trust.get("approved"))
    )
    facts = [
        ("trust", f"{trust.get('trust', 1.0):.2f}  {verdict}".rstrip()),
        ("author", f"{author.get('name', '—')} ({author.get('kind', '—')}), trust {author.get('trust', 1.0):.2f}"),
    ]
    if trust.get("vouched_by"):
        facts.append(("vouched by", ", ".join(v["name"] for v in trust["vouched_by"])))
    if trust.get("doubt"):
        facts.append(("doubt", f"{trust['doubt']:.2f} (instruction-like or contradicted)"))
    return facts


def _history(memory: Memory, memory_id: int) -> list[tuple[str, str]]:
    earlier = memory.versions(memory_id)
    facts = [(f"#{row.id}", f"{row.created_at[:10]}  {preview(row.content)}") for row in earlier[:VERSIONS]]
    if len(earlier) > VERSIONS:
        facts.append(("", f"and {len(earlier) - VERSIONS} older"))
    return facts


def _claims(memory: Memory, memory_id: int) -> list[tuple[str, str]]:
    found = memory.memory_claims(memory_id)
    if not found.get("claims") and not found.get("valid_from"):
        return []
    holds = f"from {found.get('valid_from') or 'always'} to {found.get('valid_to') or 'now'}"
    facts = [("holds", holds + ("" if found.get("current", True) else "  (history: a later claim replaced it)"))]
    for claim in found.get("claims", []):
        said = f"{claim['subject']} {claim['attribute']} {'not ' * (claim['polarity'] < 0)}{claim['value']}"
        when = f"  ({claim['valid_from'] or 'always'} → {claim['valid_to'] or 'now'})"
        later = f", replaced by #{claim['superseded_by_memory']}" if claim.get("superseded_by_memory") else ""
        facts.append(("claim", said + when + later))
    return facts


def _graph(memory: Memory, memory_id: int) -> list[tuple[str, str]]:
    found = memory.neighbors(memory_id, limit=NEIGHBOURS)
    facts = []
    if found.get("cluster") is not None:
        cluster = memory.cluster(found["cluster"], limit=1)
        facts.append(("cluster", f"{cluster['label']} ({cluster['size']} memories)"))
    if found.get("entities"):
        facts.append(("entities", ", ".join(f"{e['name']} ({e['kind']})" for e in found["entities"])))
    for near in found.get("neighbors", []):
        row = near["memory"]
        facts.append(("linked", f"#{row.id} {preview(row.content)[:60]}  ({', '.join(near['edges'])})"))
    return facts


def _section(view: Text, title: str, facts: list[tuple[str, str]]) -> None:
    if facts:
        view.append(f"\n{title}\n", style="bold underline")
        _facts(view, facts)


def _facts(view: Text, facts: list[tuple[str, str]]) -> None:
    for label, value in facts:
        view.append(f"{label:>11}  ", style="bold")
        view.append(f"{value}\n")


def why(hit: Hit) -> Text:
    """Why this result: each channel's rank and what it added, the trust and lifecycle weights, and whether later
    claims made it history (what `slm recall --explain` prints)."""
    view = Text("\nwhy this result\n", style="bold underline")
    for name, found in hit.channels.items():
        rank = f"#{found.rank} " if found.rank else ""
        view.append(f"{name:>11}  {rank}{found.contribution:+.4f}\n")
    for name in ("keyword", "vector"):
        if name not in hit.channels:
            view.append(f"{name:>11}  not found\n", style="dim")
    view.append(f"{'weighed':>11}  trust {hit.trust:.2f}, zone {hit.zone}, score {hit.score:.4f}\n")
    if not hit.current:
        view.append(f"{'':>11}  later claims superseded what it says: it is history\n", style="yellow")
    return view
