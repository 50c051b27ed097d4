"""``cao launch``: start an agent in its own tmux session, then attach or run a task headless."""

from __future__ import annotations

import os
from pathlib import Path

import click

from cao import validation
from cao.cli.common import attach_command, info
from cao.cli.common import client as make_client
from cao.cli.progress import Spinner, wait_for
from cao.client import ApiClient
from cao.errors import CaoError
from cao.profile_files import launch_warnings
from cao.settings import Settings


@click.command()
@click.argument("message", required=False)
@click.argument("task", required=False)
@click.option("--agents", "--agent", "agent",
              help="Agent profile to start (e.g. developer); with a team file, the member (default: root).")
@click.option("--provider", help="CLI to run the agent in (default: the profile's, else mock).")
@click.option("--session-name", help="Session name, 1-64 letters, digits, '_' or '-'; 'cao-' is prepended. "
                                     "Default: random.")
@click.option("--working-directory", type=click.Path(file_okay=False), help="Default: the current directory.")
@click.option("--env", "env_pairs", multiple=True, metavar="KEY=VALUE", help="Extra environment (repeatable).")
@click.option("--model", help="Model to ask the CLI for (overrides the profile's).")
@click.option("--yolo", is_flag=True, help="Never ask permission for the profile's allowed tools (restrictions stay).")
@click.option("--headless", is_flag=True, help="Do not attach your terminal.")
@click.option("--async", "is_async", is_flag=True, help="With MESSAGE: return right after sending it.")
@click.option("--rm", "remove", is_flag=True,
              help="With MESSAGE: remove the session once the reply is printed (implies --headless).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600.0, show_default=True,
              help="Seconds to wait for the reply.")
@click.option("--no-auto-start", is_flag=True, help="Fail instead of starting cao-server.")
def launch(message: str | None, task: str | None, agent: str | None, provider: str | None, session_name: str | None,
           working_directory: str | None, env_pairs: tuple[str, ...], model: str | None, yolo: bool,
           headless: bool, is_async: bool, remove: bool, timeout: float, no_auto_start: bool) -> None:
    """Start agent AGENTS in session cao-<name>; with MESSAGE, give it a task.

    \b
    cao launch --agents developer                     # attach to the new agent
    cao launch --agents developer --headless "Fix the failing test"   # print the reply
    cao launch --agents developer --rm "Fix the failing test"         # print the reply, then clean up
    cao launch team.yaml [--agent NAME] [MESSAGE | /COMMAND]          # a team file (docs/teams.md)
    """
    team_file = None
    if message and message.endswith((".yaml", ".yml")):
        team_file, message, task = os.path.abspath(message), task, None
    if task is not None:
        raise click.UsageError(f"unexpected extra argument {task!r} (a second argument follows a team file only)")
    if team_file is None and not agent:
        raise click.UsageError("give --agents PROFILE, or a team file: cao launch team.yaml")
    if remove and (not message or is_async):
        raise click.UsageError("--rm needs a MESSAGE and waits for its reply (it cannot be used with --async)")
    headless = headless or remove
    env = dict(validation.env_pair(pair) for pair in env_pairs)
    if session_name:
        validation.session_name(session_name)
    cwd = str(validation.working_directory(os.path.abspath(working_directory) if working_directory else None))
    settings = Settings.from_env()
    welcome = None
    if team_file is None:
        for warning in launch_warnings(agent, settings.home):
            info(f"warning: {warning}")
        message, welcome = _profile_message(agent, settings, message)
    else:
        message = _team_message(team_file, agent, message)
    client = make_client()
    client.ensure_server(auto_start=settings.auto_start and not no_auto_start)
    if team_file is None:
        terminal = start_agent(client, agent=agent, provider=provider, session_name=session_name, cwd=cwd,
                               env=env, model=model, yolo=yolo)
    else:
        terminal = start_team(client, file=team_file, agent=agent, provider=provider, session_name=session_name,
                              cwd=cwd, env=env, model=model, yolo=yolo)
    info(f"Session created: {terminal['session_name']}")
    info(f"Terminal created: {terminal['name']} (id {terminal['id']}, {terminal['provider']})")
    if welcome:
        info(welcome.rstrip())
    session = terminal["session_name"]
    if message:
        try:
            reply = run_task(client, terminal["id"], message, timeout=timeout, wait=not is_async)
        finally:
            if remove:
                remove_session(client, session, terminal["id"])
        if reply is not None:
            click.echo(reply)
        elif is_async:
            info(f"Task sent to {terminal['id']}; follow it with: cao session status {session}")
    if remove:
        return
    if headless:
        info(f"Session {session} keeps running; remove it with: cao shutdown --session {session} "
             "(or launch with --rm next time)")
    else:
        attach(settings, session)


def _team_message(team_file: str, agent: str | None, message: str | None) -> str | None:
    """Check the team file here (its warnings are for the person launching); expand ``/COMMAND``."""
    from cao.teams.loader import load_team
    from cao.teams.members import expand_command

    team = load_team(team_file)
    for warning in team.warnings:
        info(f"warning: {warning}")
    member = team.pick(agent)
    return expand_command(member, message) if message else None


def _profile_message(agent: str, settings: Settings, message: str | None) -> tuple[str | None, str | None]:
    """(``/COMMAND`` expanded, the welcome message) for a profile whose frontmatter has team fields."""
    from cao.teams.members import expand_command
    from cao.teams.profile_spec import profile_member

    try:
        member = profile_member(agent, settings.home)
    except CaoError:
        return message, None  # the server names what is broken where it matters (delegations, toolsets)
    if member is None:
        return message, None
    if message and member.commands:
        message = expand_command(member, message)
    return message, member.welcome_message


def start_team(client: ApiClient, *, file: str, agent: str | None, provider: str | None, session_name: str | None,
               cwd: str, env: dict[str, str], model: str | None = None, yolo: bool = False) -> dict:
    with Spinner(f"Starting team {os.path.basename(file)}"):
        result = client.request("POST", "/teams/launch", timeout=120, body={
            "file": file, "agent": agent, "session_name": session_name, "working_directory": cwd, "env_vars": env,
            "provider": provider, "model": model, "yolo": yolo, "template_env": _template_env(file)})
    info(f"Team: {result['agent']} of {', '.join(result['agents'])}")
    if result.get("welcome_message"):
        info(result["welcome_message"].rstrip())
    return result["terminal"]


def _template_env(file: str) -> dict[str, str]:
    """This shell's values of the variables the team file's ``${env.X}`` placeholders name (only those)."""
    from cao.teams.envtext import names

    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}  # the server names what is wrong with the file
    return {name: os.environ[name] for name in names([text]) if name in os.environ}


def remove_session(client: ApiClient, session: str, terminal_id: str) -> None:
    """Remove the session (``--rm``); the terminal's scrollback stays restorable."""
    try:
        client.request("DELETE", f"/sessions/{session}", timeout=120)
    except CaoError as exc:  # never hide the task's own outcome behind this one
        info(f"warning: could not remove session {session}: {exc}; remove it with: cao shutdown --session {session}")
        return
    info(f"Removed session {session} (its scrollback: cao terminal restore {terminal_id})")


def start_agent(client: ApiClient, *, agent: str, provider: str | None, session_name: str | None, cwd: str,
                env: dict[str, str], model: str | None = None, yolo: bool = False) -> dict:
    with Spinner(f"Starting {agent}"):
        return client.request(
            "POST", "/sessions", timeout=120,
            params={"agent_profile": agent, "provider": provider, "session_name": session_name,
                    "working_directory": cwd, "model": model, "yolo": "true" if yolo else None},
            body={"env_vars": env})


def run_task(client: ApiClient, terminal_id: str, message: str, *, timeout: float, wait: bool = True) -> str | None:
    """Send MESSAGE; unless ``wait`` is false, wait for the turn to end and return the reply."""
    turn = client.request("POST", f"/terminals/{terminal_id}/input", body={"message": message})["turn"]
    if not wait:
        return None
    final = wait_for(client, terminal_id, label="Agent working", timeout=timeout, turn=turn)
    if final["status"] == "waiting_user_answer":
        raise CaoError(f"the agent is waiting for an answer; answer it with: {attach_command(final['session_name'])}")
    if final["status"] == "error":
        reason = final.get("exit_reason") or "the agent reported an error"
        try:
            tail = client.get(f"/terminals/{terminal_id}/output", mode="full")["output"].strip().splitlines()[-5:]
        except CaoError:
            tail = []
        raise CaoError(f"terminal {terminal_id}: {reason}" + ("\n" + "\n".join(tail) if tail else ""))
    return client.get(f"/terminals/{terminal_id}/output", mode="last")["output"]


def attach(settings: Settings, session: str) -> None:
    """Attach this terminal to the session; inside tmux on the same server, switch to it instead."""
    socket = ["-L", settings.tmux_socket] if settings.tmux_socket else []
    env = dict(os.environ)
    inside = env.get("TMUX", "").split(",")[0]
    if inside and os.path.basename(inside) == (settings.tmux_socket or "default"):
        verb = ["switch-client", "-t", session]
    else:
        env.pop("TMUX", None)  # attaching to cao's server from inside another tmux is deliberate here
        verb = ["attach-session", "-t", session]
    try:
        os.execvpe("tmux", ["tmux", *socket, *verb], env)
    except FileNotFoundError as exc:
        raise CaoError("tmux is not installed; install it (apt-get install tmux / brew install tmux)") from exc
