"""The rich renderings for people: tables of hits, rows, agents, trust, clusters, contradictions and the lifecycle.

Imported through `slm.cli.output` on first use (`out.hits_table`), so that rich loads only when something is drawn.
Everything a user stored goes through `output.text`: literal, never markup (see `slm.cli.output`).
"""

from __future__ import annotations

import json
import sys

from rich import box
from rich.table import Table
from rich.text import Text

from slm.cli.output import console, note, plain
from slm.cli.output import text as _text

_out = console()


def _short(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _when(iso: str) -> str:
    """'2023-05-08 13:56', or just the date in a narrow terminal so that the memory text keeps its room."""
    return iso[:10] if _out.width < 100 else iso[:16].replace("T", " ")


def _table() -> Table:
    """A light table (rules under the header only) so that five to seven columns still fit in 80 columns."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)


def hits_table(hits: list, explain: bool) -> None:
    """Hits best first, numbered; with `explain`, the score and each channel's rank and share of it instead of time
    and source (a narrow terminal has room for one or the other, and `--json` has both)."""
    if not hits:
        plain("no memories match", "dim")
        return
    table = _table()
    table.add_column("#" if not explain else "score", justify="right", no_wrap=True)  # a fused score means little
    table.add_column("id", justify="right", style="cyan", no_wrap=True)  # to a person; `--explain` has it
    if explain:
        table.add_column("trust", justify="right", no_wrap=True)
        table.add_column("zone", no_wrap=True)
    # keyword and vector always (a "-" says the channel missed); the others when they took part
    others = ("session", "query", "time", "graph", "temporal", "fisher")  # learned feature groups, RRF channels
    extra = [name for name in others if any(name in hit.channels for hit in hits)]
    extra += ["learned"] if explain and any("learned" in hit.channels for hit in hits) else []
    channels = ["keyword", "vector", *extra]
    if explain:
        for channel in channels:
            table.add_column(channel, justify="right", no_wrap=True)
    else:
        table.add_column("when", no_wrap=True)
        table.add_column("project / agent", max_width=18)
    table.add_column("memory")
    for rank, hit in enumerate(hits, 1):
        cells = [f"{hit.score:.4f}" if explain else str(rank), str(hit.id)]
        if explain:
            cells += [f"{hit.trust:.2f}", hit.zone, *(_channel(hit, channel) for channel in channels)]
        else:
            cells += [_when(hit.time), f"{hit.project} / {hit.agent}"]
        table.add_row(*map(_text, [*cells, _short(hit.text)]))
    _out.print(table)
    if "learned" in extra:
        _learned_moves(hits)


def _learned_moves(hits: list) -> None:
    """The `learned` column is each hit's rank before learning and what learning added; here, for each hit it
    moved or added to, what each layer (preference, project, workflow) added."""
    for rank, hit in enumerate(hits, 1):
        learned = hit.channels.get("learned")
        if learned is None or (learned.rank == rank and not learned.contribution):
            continue
        parts = ", ".join(f"{layer} {share:+.2f}" for layer, share in learned.parts.items())
        plain(f"#{hit.id} ranked {rank} ({learned.rank} before learning): {parts}", "dim")


def _channel(hit, name: str) -> str:
    """The hit's rank in the channel and what that added to its score (`--json` has the raw scores and, for the
    learned ranking, each feature's part); a channel that did not find the hit shows "-" for its rank."""
    found = hit.channels.get(name)
    if found is None:
        return "-"
    share = f"{found.contribution:+.2f}" if found.parts else f"+{found.contribution:.4f}".replace("+0.", "+.")
    return f"#{found.rank} {share}" if found.rank else share


def agents_table(agents: list) -> None:
    if not agents:
        plain("no agents yet: `slm agent add NAME` creates one with a token", "dim")
        return
    table = _table()
    table.add_column("name", style="bold")
    members = any(agent.member is not None for agent in agents)  # a team's store: whose agent each is
    if members:
        table.add_column("member")
    table.add_column("created", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("may change", no_wrap=True)
    table.add_column("memories", justify="right")
    for agent in agents:
        status = Text("active", "green") if agent.active else Text(f"revoked {_when(agent.revoked_at)}", "red")
        scope = Text("everyone's", "yellow") if agent.edit_others else Text("its own", "dim")
        member = [Text(agent.member) if agent.member is not None else Text("—", "dim")] if members else []
        row = (_text(agent.name), *member, _text(_when(agent.created_at)), status, scope, _text(agent.memories))
        table.add_row(*row)
    _out.print(table)


def _trust(value: float) -> Text:
    style = "red" if value < 0.2 else "yellow" if value < 0.5 else "green"
    return Text(f"{value:.2f}", style)


def trust_table(report: list[dict]) -> None:
    if not report:
        plain("nobody has written a memory yet", "dim")
        return
    members = any(row["member"] for row in report)  # a team's store: whose agent each is
    table = _table()
    table.add_column("agent", style="bold")
    if members:
        table.add_column("member")
    table.add_column("identity", no_wrap=True)
    table.add_column("trust", justify="right", no_wrap=True)
    table.add_column("signals", justify="right")
    table.add_column("memories", justify="right")
    for row in report:
        member = [_text(row["member"] or "")] if members else []
        table.add_row(_text(row["name"]), *member, _text(row["kind"]), _trust(row["trust"]), _text(row["signals"]),
                      _text(row["memories"]))  # fmt: skip
    _out.print(table)


def trust_explanation(identity: dict) -> None:
    evidence = "fixed: the owner of the store is not scored"
    if identity["alpha"] is not None:
        prior = identity["prior"]
        evidence = (
            f"Beta({identity['alpha']:.2f}, {identity['beta']:.2f}), prior Beta({prior['alpha']:g}, {prior['beta']:g})"
        )
    heading = Text.assemble((identity["name"], "bold"), f" ({identity['kind']}, {identity['principal']})  trust ")
    heading.append_text(_trust(identity["trust"]))
    _out.print(heading)
    plain(f"  {evidence}; {identity['memories']:,} current memories; change-point statistic {identity['drift']:.2f}")
    if identity["by_signal"]:
        plain("  signals: " + ", ".join(f"{name} x{count}" for name, count in sorted(identity["by_signal"].items())))
    table = _table()
    table.add_column("when", no_wrap=True)
    table.add_column("signal", no_wrap=True)
    table.add_column("weight", justify="right", no_wrap=True)
    table.add_column("trust after", justify="right", no_wrap=True)
    table.add_column("reason")
    for signal in identity["recent"]:
        after = signal["alpha"] / (signal["alpha"] + signal["beta"])
        cells = [_when(signal["time"]), signal["signal"], f"{signal['weight']:+.2f}"]
        table.add_row(*map(_text, cells), _trust(after), _text(signal["reason"]))
    if identity["recent"]:
        _out.print(table)
    _out.print()


def quarantine_table(held: list) -> None:
    if not held:
        plain("nothing in quarantine", "dim")
        return
    table = _table()
    table.add_column("id", justify="right", style="cyan", no_wrap=True)
    table.add_column("trust", justify="right", no_wrap=True)
    table.add_column("project / agent", max_width=18)
    table.add_column("memory")
    for row, trust in held:
        table.add_row(_text(row.id), _trust(trust), _text(f"{row.project} / {row.agent}"), _text(_short(row.content)))
    _out.print(table)
    note("`slm trust approve ID…` keeps a memory; `slm trust reject ID…` deletes it and counts against its author")


def clusters_table(clusters: list[dict]) -> None:
    if not clusters:
        plain("no clusters yet: store a few memories, then `slm graph build`", "dim")
        return
    table = _table()
    table.add_column("id", justify="right", style="cyan", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("label")
    for cluster in clusters:
        table.add_row(_text(cluster["id"]), _text(cluster["size"]), _text(cluster["label"], "bold"))
        for sub in cluster["subclusters"]:
            table.add_row(_text(sub["id"]), _text(sub["size"]), _text(f"  └ {sub['label']}"))
    _out.print(table)


def cluster_detail(cluster: dict) -> None:
    parent = f" (inside #{cluster['parent']})" if cluster["parent"] else ""
    _out.print(Text.assemble((f"#{cluster['id']} ", "cyan"), _text(cluster["label"], "bold"), parent))
    _out.print(_text(f"{cluster['size']} memories, built {cluster['built_at']}", "dim"))
    if cluster["entities"]:
        _out.print(_text("entities: " + ", ".join(f"{name} ({n})" for name, n in cluster["entities"])))
    for sub in cluster["subclusters"]:
        _out.print(_text(f"  └ #{sub['id']} {sub['label']} ({sub['size']})"))
    rows_table(cluster["memories"])


def neighbors_view(found: dict) -> None:
    row = found["memory"]
    _out.print(Text.assemble((f"#{row.id} ", "cyan"), _text(_short(row.content))))
    where = f"cluster #{found['cluster']}" if found["cluster"] else "no cluster yet"
    if found["subcluster"]:
        where += f" / #{found['subcluster']}"
    entities = ", ".join(f"{e['name']} ({e['kind']})" for e in found["entities"]) or "-"
    _out.print(_text(f"{where}; entities: {entities}", "dim"))
    if not found["neighbors"]:
        plain("no linked memories", "dim")
        return
    table = _table()
    table.add_column("id", justify="right", style="cyan", no_wrap=True)
    table.add_column("linked by", no_wrap=True)
    table.add_column("memory")
    for neighbour in found["neighbors"]:
        edges = ", ".join(f"{kind} {weight:.2f}" for kind, weight in neighbour["edges"].items())
        table.add_row(_text(neighbour["memory"].id), _text(edges), _text(_short(neighbour["memory"].content)))
    _out.print(table)


def rows_table(rows: list) -> None:
    if not rows:
        plain("no memories", "dim")
        return
    table = _table()
    table.add_column("id", justify="right", style="cyan", no_wrap=True)
    table.add_column("when", no_wrap=True)
    table.add_column("project / agent", max_width=18)
    table.add_column("tags", max_width=16)
    table.add_column("memory")
    for row in rows:
        cells = [
            str(row.id),
            _when(row.event_time or row.created_at),
            f"{row.project} / {row.agent}",
            ", ".join(row.tags),
            _short(row.content),
        ]
        table.add_row(*map(_text, cells))
    _out.print(table)


def _trust_line(trust: dict) -> Text:
    """'0.17 quarantined · author bob (verified) 0.07 · vouched by 2 · doubt 30 (instruction-like)'."""
    line = _trust(trust["trust"])
    status = "approved by the user" if trust["approved"] else "quarantined" if trust["quarantined"] else ""
    author = trust["author"]
    parts = [status, f"author {author['name']} ({author['kind']}) {author['trust']:.2f}"]
    parts += [f"vouched by {len(trust['vouched_by'])}" if trust["vouched_by"] else ""]
    parts += [f"doubt {trust['doubt']:g} (instruction-like text)" if trust["doubt"] else ""]
    line.append_text(_text(" " + " · ".join(p for p in parts if p)))
    return line


def memory_detail(row, trust: dict | None, life: dict | None = None, validity: dict | None = None) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, value in [
        ("id", row.id),
        ("project", row.project),
        ("agent", row.agent),
        ("kind", row.kind),
        ("tags", ", ".join(row.tags) or "-"),
        ("session", row.session or "-"),
        ("event time", row.event_time or "-"),
        ("stored", f"{row.created_at} via {row.protocol}"),
        ("superseded by", f"#{row.superseded_by}" if row.superseded_by else "- (current)"),
        ("meta", json.dumps(row.meta, ensure_ascii=False) if row.meta else "-"),
        ("trust", _trust_line(trust) if trust else "-"),
        ("lifecycle", _lifecycle_line(life) if life else "-"),
        ("valid", _validity_line(validity) if validity else "-"),
        *(("claim", _claim_line(claim)) for claim in (validity or {}).get("claims", [])),
    ]:
        table.add_row(label, value if isinstance(value, Text) else _text(value))
    _out.print(table)
    _out.print()
    _out.print(_text(row.content))


def _validity_line(validity: dict) -> str:
    until = f"until {validity['valid_to']} (history)" if validity["valid_to"] else "still current"
    return f"from {validity['valid_from']}, {until}"


def _claim_line(claim: dict) -> str:
    """'api gateway · database = mysql (superseded by memory 12 on 2026-05-01)'."""
    value = ("" if claim["polarity"] > 0 else "not ") + claim["value"]
    line = f"{claim['subject']} · {claim['attribute']} = {value}"
    if claim["valid_to"]:
        by = f" by memory {claim['superseded_by_memory']}" if claim.get("superseded_by_memory") else ""
        line += f" (superseded{by} on {claim['valid_to'][:10]})"
    return line


def contradictions_table(found: list[dict]) -> None:
    if not found:
        plain("no contradictions", "dim")
        return
    table = _table()
    table.add_column("id", justify="right", style="cyan", no_wrap=True)
    table.add_column("severity", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("project", max_width=14)
    table.add_column("about")
    table.add_column("claims (memory: value, by)")
    for item in found:
        claims = "; ".join(
            f"#{c['memory_id']}: {'' if c['polarity'] > 0 else 'not '}{c['value']}, {c['agent']}"
            for c in item["claims"]
        )
        about = f"{item['subject']} · {item['attribute']}"
        table.add_row(
            *map(_text, [item["id"], f"{item['severity']:.2f}", item["status"], item["project"], about, claims])
        )
    _out.print(table)


def contradiction_detail(item: dict) -> None:
    settled = f" — {item['resolution']}" if item["resolution"] else ""
    mapping(
        f"contradiction {item['id']}: {item['subject']} · {item['attribute']} ({item['project']})",
        {"status": item["status"] + settled, "severity": f"{item['severity']:.2f}", "found": item["found_at"]},
    )
    table = _table()
    for column in ("memory", "value", "share", "by", "trust", "since", "text"):
        table.add_column(column, justify="right" if column in ("memory", "share", "trust") else "left")
    total = sum(c["residual"] for c in item["claims"]) or 1.0
    for c in item["claims"]:
        value = ("" if c["polarity"] > 0 else "not ") + c["value"]
        cells = [f"#{c['memory_id']}", value, f"{c['residual'] / total:.0%}", c["agent"], f"{c['trust']:.2f}"]
        table.add_row(*map(_text, [*cells, _when(c["valid_from"]), _short(c["text"], 80)]))
    _out.print(table)
    if item["status"] == "open":
        note(f"settle it: slm contradictions resolve {item['id']} --keep MEMORY_ID (or --dismiss)")


def _lifecycle_line(life: dict) -> str:
    place = f"{life['zone']} (distance {abs(life['position']):.2f} from the centre, weight {life['rank_weight']:.2f})"
    use = f"{life['uses']:.1f} uses, the last {_when(life['last_used'])}; importance {life['importance']:.2f}"
    return f"{place}; {use}"


def lifecycle_status(status: dict) -> None:
    zones = status["zones"]
    mapping(
        "lifecycle",
        {
            "zones": zones,
            "memories": sum(zones.values()),
            "steps": status["steps"],
            "last step": status["last_step"] or "never",
            "due": "yes" if status["due"] else "no",
            "seed": status["seed"],
        },
    )


def lifecycle_report(report) -> None:
    crossed = ", ".join(f"{k}: {v:,}" for k, v in report.changed.items()) or "none"
    mapping(
        f"lifecycle step {report.step}",
        {
            "zones": report.zones,
            "memories": report.memories,
            "moved between zones": crossed,
            "uses folded in": report.uses_folded,
            "days covered": f"{report.days:.3f}",
            "took": f"{report.seconds * 1000:.0f} ms",
        },
    )


def event_line(feed_event, as_json: bool) -> None:
    """One event per line, flushed at once so that `slm events --follow | …` streams."""
    if as_json:
        sys.stdout.write(json.dumps(feed_event.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    e = feed_event.event
    target = f" #{e.memory_id}" if e.memory_id is not None else ""
    details = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in e.payload.items())
    line = Text.assemble((e.time.replace("T", " ").rstrip("Z"), "dim"), " ", (e.type, "bold"), (target, "cyan"))
    line.append_text(_text(f"  by {e.agent} via {e.protocol}  {details}".rstrip()))
    _out.print(line)
    _out.file.flush()


def mapping(title: str, values: dict) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in values.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v:,}" for k, v in value.items()) or "-"
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        table.add_row(key.replace("_", " "), _text("-" if value is None else value))
    _out.print(table)


def checks_table(checks: list) -> None:
    table = _table()
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("detail")
    for check in checks:
        mark = Text("ok", style="green") if check.ok else Text("FAIL", style="bold red")
        detail = _text(check.detail)
        if not check.ok and check.fix:
            detail.append("\nfix: ", style="yellow").append_text(_text(check.fix))
        table.add_row(mark, check.name, detail)
    _out.print(table)


def repairs_table(repairs: list) -> None:
    """What `slm doctor --repair` did, shown above the checks run after it."""
    if not repairs:
        plain("nothing to repair")
        return
    table = _table()
    table.add_column("", no_wrap=True)
    table.add_column("repair", no_wrap=True)
    table.add_column("what was done")
    for repair in repairs:
        mark = Text("done", style="green") if repair.ok else Text("FAIL", style="bold red")
        table.add_row(mark, repair.name, _text(repair.detail))
    _out.print(table)


def learning_status(status: dict) -> None:
    """What recall learned of the user, in sentences they can check against what they know of their own work."""
    if not status["enabled"]:
        _out.print(Text.assemble(("learning is off", "bold yellow"), ": recall ranks as without it"))
        note("`slm learn on` turns it back on")
    elif status["in_effect"]:
        _out.print(Text.assemble(("learning is in effect", "bold green"), ": ", _text(status["why"])))
    else:
        _out.print(Text.assemble(("learning is not in effect", "bold"), ": ", _text(status["why"])))
    recalls = status["recalls_since_reset"]
    plain(f"{recalls:,} recall{'s' * (recalls != 1)} logged since it last started learning", "dim")
    preferences = status.get("preferences") or []
    if preferences:
        _out.print(Text("you prefer", "bold"))
        for p in preferences:
            over = f" over {p['over']}" if p["over"] else ""
            plain(f"  {p['prefers']}{over}  (strength {p['strength']:.2f})")
    projects = status.get("projects") or []
    if projects:
        _out.print(Text("projects you work on", "bold"))
        for p in projects:
            named = f", named by {', '.join(p['named_by'])}" if p["named_by"] else ""
            plain(f"  {p['project']}  {p['share']:.0%} of your recalls{named}")
    for pattern in status.get("patterns") or []:
        _out.print(Text.assemble(("after ", "bold"), _text(f"“{pattern['after']}”"), (" you usually needed", "bold")))
        for text in pattern["then"]:
            plain(f"  · {_short(text, max(_out.width - 5, 20))}")
    held = status.get("held_out")
    if held:
        plain(
            f"on {held['recalls']:,} of your recalls, each scored before it was learned from: "
            f"{held['without_learning']:.3f} without learning, {held['with_learning']:.3f} with it (NDCG, higher is "
            "better)"
        )
    trained = status.get("trained")
    if trained:
        took = f" in {trained['seconds']:.2f} s" if "seconds" in trained else ""
        plain(
            f"last trained {_when(trained['at'])} on {trained['recalls']:,} recalls, {trained['labelled']:,} with a "
            f"use or feedback{took}",
            "dim",
        )
    elif status["enabled"]:
        note("`slm learn now` trains on what is logged without waiting")
