"""``cao flow add | list | show | run | enable | disable | remove | history`` (also ``cao schedule …``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from cao.cli.common import attach_command, echo_json, table
from cao.cli.common import client as make_client

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _when(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


@click.group()
def flow() -> None:
    """Scheduled and gated agent runs, and what each run did (docs/flows.md)."""


@flow.command(name="add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace the flow of the same name (its history is kept).")
@json_option
def flow_add(file: Path, replace: bool, as_json: bool) -> None:
    """Validate the flow FILE and register it; print its next fire times."""
    client = make_client()
    client.ensure_server(auto_start=client.settings.auto_start)  # flows fire only while cao-server runs
    result = client.request("POST", "/flows", params={"replace": "true" if replace else None},
                                   body={"file_path": str(file.expanduser().resolve())})
    if as_json:
        echo_json(result)
        return
    click.echo(f"Added flow {result['name']} ({result['schedule']}, {result['timezone']}).")
    click.echo("Next runs: " + ", ".join(_when(t) for t in result["next_runs"]))


@flow.command(name="list")
@json_option
def flow_list(as_json: bool) -> None:
    """List flows: schedule, profile, last run and its outcome, next run."""
    flows = make_client().get("/flows")
    if as_json:
        echo_json(flows)
        return
    if not flows:
        click.echo("No flows. Add one with: cao flow add FILE (see docs/flows.md)")
        return
    table([[f["name"], f["schedule"], f["agent_profile"], _when(f["last_run"]), f["last_outcome"] or "-",
            _when(f["next_run"]), "yes" if f["enabled"] else "no"] for f in flows],
          ["NAME", "SCHEDULE", "AGENT", "LAST RUN", "OUTCOME", "NEXT RUN", "ENABLED"])


@flow.command(name="show")
@click.argument("name")
@json_option
def flow_show(name: str, as_json: bool) -> None:
    """Show a flow's definition, state and next fire times."""
    f = make_client().get(f"/flows/{name}")
    if as_json:
        echo_json(f)
        return
    for label, value in (("Name", f["name"]), ("File", f["file_path"]), ("Schedule", f"{f['schedule']} "
                         f"({f['timezone']})"), ("Agent", f"{f['agent_profile']} [{f['provider'] or 'profile'}]"),
                         ("Script", f["script"] or "-"), ("Enabled", "yes" if f["enabled"] else "no"),
                         ("When busy", f["when_busy"]), ("Timeout", f"{f['timeout']:g}s"),
                         ("Last run", f"{_when(f['last_run'])} {f['last_outcome'] or ''}".rstrip()),
                         ("Next runs", ", ".join(_when(t) for t in f["next_runs"]) or "-")):
        click.echo(f"{label + ':':<11}{value}")
    click.echo("Prompt:\n  " + "\n  ".join(f["prompt_template"].splitlines()))


def _print_run(run: dict[str, Any]) -> None:
    click.echo(f"Run {run['id']}: {run['outcome'] or 'working'}"
               + (f" (session {run['session_name']})" if run["session_name"] else ""))
    if run["error"]:
        click.echo(f"  {run['error']}")
    if run["reply"]:
        click.echo(run["reply"])


@flow.command(name="run")
@click.argument("name")
@click.option("--wait", is_flag=True, help="Wait until the run has ended and print the agent's reply.")
@json_option
def flow_run(name: str, wait: bool, as_json: bool) -> None:
    """Run a flow now (its schedule is not changed)."""
    client = make_client()
    timeout = client.get(f"/flows/{name}")["timeout"] + 60 if wait else 120
    result = client.request("POST", f"/flows/{name}/run", params={"wait": "true" if wait else None},
                            timeout=timeout)
    if as_json:
        echo_json(result)
        return
    run = result["run"]
    if not wait and result["executed"]:
        click.echo(f"Run {run['id']} started; watch it with: {attach_command(run['session_name'])}; "
                   f"its outcome: cao flow history {name}")
        return
    _print_run(run)
    if run["outcome"] not in (None, "completed", "skipped_by_script"):
        raise SystemExit(1)


@flow.command(name="enable")
@click.argument("name")
def flow_enable(name: str) -> None:
    """Schedule a disabled flow again (fires while it was disabled are not caught up)."""
    make_client().request("POST", f"/flows/{name}/enable")
    click.echo(f"Enabled {name}")


@flow.command(name="disable")
@click.argument("name")
def flow_disable(name: str) -> None:
    """Stop scheduling a flow (a working run finishes)."""
    make_client().request("POST", f"/flows/{name}/disable")
    click.echo(f"Disabled {name}")


@flow.command(name="remove")
@click.argument("name")
def flow_remove(name: str) -> None:
    """Remove a flow, its history and its session."""
    make_client().request("DELETE", f"/flows/{name}")
    click.echo(f"Removed {name}")


@flow.command(name="history")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
def flow_history(name: str, limit: int, as_json: bool) -> None:
    """A flow's runs, newest first: when, why, outcome, and the error or the reply's first line."""
    runs = make_client().get(f"/flows/{name}/runs", limit=limit)
    if as_json:
        echo_json(runs)
        return
    if not runs:
        click.echo(f"No runs of {name} yet. Run it now with: cao flow run {name} --wait")
        return
    table([[str(r["id"]), r["trigger"], _when(r["scheduled_for"]), _when(r["started_at"]), r["outcome"] or "working",
            ((r["error"] or r["reply"] or "").splitlines() or [""])[0][:60]] for r in runs],
          ["RUN", "TRIGGER", "SCHEDULED", "STARTED", "OUTCOME", "DETAIL"])
