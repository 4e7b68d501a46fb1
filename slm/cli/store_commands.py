"""The store as a whole: `slm stats`, `slm doctor` and the `slm model` group (the embedding model it uses)."""

from __future__ import annotations

from pathlib import Path

import click

from slm.cli import output as out
from slm.cli.shared import Group, answer, db_option, handles_errors, json_option, open_store, render


@click.command()
@db_option
@json_option
@handles_errors
def stats(db: Path | None, as_json: bool) -> None:
    """Counts by project, agent and kind; the model; the schema version; the file's size."""
    answer(db, as_json, lambda mem: mem.stats(), lambda values: out.mapping("memory store", values))


@click.command()
@db_option
@click.option("--full", is_flag=True, help="Check every index against its table too (integrity_check; slower).")
@click.option("--repair", is_flag=True, help="Rebuild the keyword index and vectors; finish interrupted erasures.")
@json_option
@handles_errors
def doctor(db: Path | str | None, full: bool, repair: bool, as_json: bool) -> None:
    """Check the driver, extensions, model, recall ranker, the store's file, schema, permissions, keyword index,
    vectors, unfinished erasures and behavior.db, and say how to fix each; --repair fixes what can be rebuilt.
    A PostgreSQL store (`--db postgresql://…`): the server, pgvector, schema, references, vectors, erasures."""
    from slm.core import checkup

    with out.spinner("checking…"):
        environment = [*checkup.environment_checks(), _hooks_check()]
        store, where = checkup.checks_of(db, full=full)
    repairs = None
    if repair:
        with out.spinner("repairing…"):
            repairs = checkup.repair(where, store)
            if any(r.ok for r in repairs):  # check the store again: the table shows what the repairs left
                store, _ = checkup.checks_of(db, full=full)
    checks = environment + store
    ok = all(c.ok for c in checks)
    if as_json:
        out.emit_json({"ok": ok, "checks": checks} | ({} if repairs is None else {"repairs": repairs}))
    else:
        if repairs is not None:
            out.repairs_table(repairs)
        out.checks_table(checks)
    if not ok:
        raise click.exceptions.Exit(1)


def _hooks_check():
    """Client hooks are the CLI's business (it writes them), so this check lives here, not in the engine's."""
    from slm.cli import hook_clients
    from slm.core.checkup import Check

    ok, detail, fix = hook_clients.doctor(Path.cwd())
    return Check("client hooks", ok, detail, fix)


@click.group("model", cls=Group, invoke_without_command=True)
@db_option
@json_option
@click.pass_context
@handles_errors
def model_app(ctx: click.Context, db: Path | None, as_json: bool) -> None:
    """The embedding model: show it, provision it, re-embed with another.

    Without a command: which embedding model this database uses."""
    if ctx.invoked_subcommand:
        return
    answer(db, as_json, lambda mem: _model_of(mem.stats()), _show_model)


def _model_of(store: dict) -> dict:
    from slm import config

    return {
        "database": store["path"],
        "model": store["model"],
        "dim": store["dim"],
        "memories": store["memories"],
        "models_dir": str(config.data_dir() / "models"),
    }


def _show_model(values: dict) -> None:
    out.mapping("embedding model", {**values, "model": values["model"] or "none yet (the default on first use)"})


@model_app.command("provision")
@json_option
@handles_errors
def model_provision(as_json: bool) -> None:
    """Convert the default model (all-MiniLM-L6-v2) to GGUF and cache it; does nothing if already there."""
    from slm.core.checkup import provision_default_model

    with out.spinner("converting all-MiniLM-L6-v2 to GGUF…"):
        path = provision_default_model()
    render(
        path,
        as_json,
        lambda made: out.plain(f"default model ready: {made}"),
        to_json=lambda made: {"path": str(made), "bytes": made.stat().st_size},
    )


@model_app.command("reindex")
@click.option(
    "--model",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="GGUF embedding model to switch to (default: the bundled all-MiniLM-L6-v2).",
)
@db_option
@json_option
@handles_errors
def model_reindex(model: Path | None, db: Path | None, as_json: bool) -> None:
    """Re-embed every memory with a model (to switch models, or after a model file changed)."""
    with open_store(db) as mem, out.progress() as bar:  # not `answer`: the bar needs the store's size first
        task = bar.add_task("re-embedding", total=mem.count())
        count = mem.reindex(model, progress=lambda n: bar.advance(task, n))
        store = mem.stats()
    render(
        {"reindexed": count, "model": store["model"], "dim": store["dim"]},
        as_json,
        lambda done: out.plain(f"re-embedded {done['reindexed']:,} memories with {done['model']} ({done['dim']}-d)"),
    )
