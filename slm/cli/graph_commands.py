"""The `slm graph` group: the knowledge graph's links between memories and its Leiden clusters."""

from __future__ import annotations

from typing import Annotated

import typer

from slm.cli import output as out
from slm.cli.shared import Db, Json, MemoryId, Project, answer, handles_errors

graph_app = typer.Typer(help="The knowledge graph: entities, links between memories, Leiden clusters.")


@graph_app.command("build")
@handles_errors
def graph_build(db: Db = None, as_json: Json = False) -> None:
    """Link memories stored before the graph existed, then rebuild the clusters (ids kept by overlap)."""
    answer(
        db,
        as_json,
        lambda mem: mem.graph_build().to_dict(),
        lambda report: out.mapping("graph built", report),
        busy="clustering…",
    )


@graph_app.command("clusters")
@handles_errors
def graph_clusters(
    project: Project = None,
    refresh: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="Rebuild first if the clusters are stale.")
    ] = True,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """The clusters, largest first, with their labels and sub-clusters (built first if stale)."""
    answer(
        db, as_json, lambda mem: mem.clusters(project=project, refresh=refresh), out.clusters_table, busy="clustering…"
    )


@graph_app.command("show")
@handles_errors
def graph_show(
    cluster_id: Annotated[int, typer.Argument(metavar="CLUSTER", help="The cluster's id.", min=1)],
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many member memories to list.")] = 20,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """One cluster: label, size, sub-clusters, top entities and its newest memories."""
    answer(db, as_json, lambda mem: mem.cluster(cluster_id, limit=limit), out.cluster_detail)


@graph_app.command("neighbors")
@handles_errors
def graph_neighbors(
    memory_id: MemoryId,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many neighbours.")] = 20,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """A memory's entities, cluster, and the memories linked to it (shared entities, similar, same session)."""
    answer(db, as_json, lambda mem: mem.neighbors(memory_id, limit=limit), out.neighbors_view)
