"""The `slm graph` group: the knowledge graph's links between memories and its Leiden clusters."""

from __future__ import annotations

from pathlib import Path

import click

from slm.cli import output as out
from slm.cli.shared import Group, answer, db_option, handles_errors, json_option, memory_id_argument, project_option


@click.group("graph", cls=Group)
def graph_app() -> None:
    """The knowledge graph: entities, links between memories, Leiden clusters."""


@graph_app.command("build")
@db_option
@json_option
@handles_errors
def graph_build(db: Path | None, as_json: bool) -> None:
    """Link memories stored before the graph existed, then rebuild the clusters (ids kept by overlap)."""
    answer(
        db,
        as_json,
        lambda mem: mem.graph_build().to_dict(),
        lambda report: out.mapping("graph built", report),
        busy="clustering…",
    )


@graph_app.command("clusters")
@project_option
@click.option("--refresh/--no-refresh", default=True, help="Rebuild first if the clusters are stale.")
@db_option
@json_option
@handles_errors
def graph_clusters(project: str | None, refresh: bool, db: Path | None, as_json: bool) -> None:
    """The clusters, largest first, with their labels and sub-clusters (built first if stale)."""
    answer(
        db, as_json, lambda mem: mem.clusters(project=project, refresh=refresh), out.clusters_table, busy="clustering…"
    )


@graph_app.command("show")
@click.argument("cluster_id", metavar="CLUSTER", type=click.IntRange(min=1), help="The cluster's id.")
@click.option("--limit", "-n", default=20, help="How many member memories to list.")
@db_option
@json_option
@handles_errors
def graph_show(cluster_id: int, limit: int, db: Path | None, as_json: bool) -> None:
    """One cluster: label, size, sub-clusters, top entities and its newest memories."""
    answer(db, as_json, lambda mem: mem.cluster(cluster_id, limit=limit), out.cluster_detail)


@graph_app.command("neighbors")
@memory_id_argument
@click.option("--limit", "-n", default=20, help="How many neighbours.")
@db_option
@json_option
@handles_errors
def graph_neighbors(memory_id: int, limit: int, db: Path | None, as_json: bool) -> None:
    """A memory's entities, cluster, and the memories linked to it (shared entities, similar, same session)."""
    answer(db, as_json, lambda mem: mem.neighbors(memory_id, limit=limit), out.neighbors_view)
