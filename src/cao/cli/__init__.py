"""The ``cao`` command. Subcommands load lazily so ``cao --help`` stays fast.

``cao --help`` and ``cao --version`` do not even import click (≈50 ms of a ≈80 ms start): ``main``
answers them itself, rendering the same text click would (tests/unit/test_cli_help.py checks that).
Everything else — and ``from cao.cli import cli`` — builds the real click group.
"""

from __future__ import annotations

import sys

from cao import __version__

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing alone costs ~10 ms here
if TYPE_CHECKING:
    import click

# name → (module:attribute, one-line help). The help is here so `cao --help` imports nothing else.
COMMANDS = {
    "demo": ("cao.cli.demo:demo", "Run a supervisor and four mock workers offline; print the final answer."),
    "doctor": ("cao.cli.doctor:doctor", "Check tmux, the server and every provider's CLI and version."),
    "info": ("cao.cli.info:info", "Show cao's home, database, server and tmux state."),
    "install": ("cao.cli.install:install", "Install an agent profile from a name, a .md file or an https URL."),
    "model-server": ("cao.cli.model_server:model_server",
                     "Serve scripted Anthropic/OpenAI/Gemini APIs so real CLIs run offline."),
    "mcp-server": ("cao.cli.mcp:mcp_server", "Run cao's MCP server for the agent in this terminal (stdio)."),
    "launch": ("cao.cli.launch:launch", "Start an agent in its own tmux session; attach or run a task."),
    "session": ("cao.cli.session:session", "Inspect and talk to running sessions."),
    "shutdown": ("cao.cli.shutdown:shutdown", "Stop agents: kill their tmux session(s)."),
    "terminal": ("cao.cli.terminal:terminal", "Work with single terminals: restore one, connect an MCP client as one."),
    "ui": ("cao.cli.ui:ui", "Sign your browser in to cao-server with a one-time URL."),
}


DOC = """Run real AI coding CLIs as one team in tmux.

    Start with `cao launch --agents developer`, or try everything offline with `cao demo`.
    """
OPTIONS = [("-V, --version", "Show the version and exit."), ("-h, --help", "Show this message and exit.")]


def _build() -> click.Group:
    import importlib

    import click

    from cao.errors import CaoError

    class LazyGroup(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted(COMMANDS)

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            if cmd_name not in COMMANDS:
                return None
            module, _, attr = COMMANDS[cmd_name][0].partition(":")
            return getattr(importlib.import_module(module), attr)

        def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            with formatter.section("Commands"):
                formatter.write_dl([(name, help_text) for name, (_, help_text) in sorted(COMMANDS.items())])

        def invoke(self, ctx: click.Context) -> object:
            try:
                return super().invoke(ctx)
            except CaoError as exc:
                raise click.ClickException(str(exc)) from exc

    @click.group(cls=LazyGroup, help=DOC, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, "-V", "--version", prog_name="cao")
    def cli() -> None:
        pass

    return cli


def __getattr__(name: str) -> click.Group:  # PEP 562: `cli` is built on first use
    if name == "cli":
        globals()["cli"] = _build()
        return globals()["cli"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def root_help(width: int = 78) -> str:
    """``cao --help`` as click renders it at ``width`` (click's HelpFormatter rules, for this one page)."""
    import textwrap

    def fill(text: str, width: int, indent: str = "") -> str:
        paragraphs = [" ".join(p.split("\n")) for p in text.split("\n\n")]
        wrapper = textwrap.TextWrapper(width, initial_indent=indent, subsequent_indent=indent,
                                       replace_whitespace=False)
        return "\n\n".join(wrapper.fill(p) for p in paragraphs)

    def table(rows: list[tuple[str, str]]) -> list[str]:
        first = min(max(len(a) for a, _ in rows), 30) + 2
        out = []
        for a, b in rows:
            lines = fill(b, max(width - first - 2, 10)).splitlines()
            head = f"  {a}" + (" " * (first - len(a)) if len(a) <= first - 2 else "\n" + " " * (first + 2))
            out.append(head + lines[0])
            out += [" " * (first + 2) + line for line in lines[1:]]
        return out

    commands = [(name, help_text) for name, (_, help_text) in sorted(COMMANDS.items())]
    return "\n".join(["Usage: cao [OPTIONS] COMMAND [ARGS]...", "", fill(_cleandoc(DOC), width, "  "), "",
                      "Options:", *table(OPTIONS), "", "Commands:", *table(commands)]) + "\n"


def _cleandoc(doc: str) -> str:
    """``inspect.cleandoc`` (what click applies to help), without importing inspect."""
    import textwrap

    first, _, rest = doc.strip().partition("\n")
    return (first + "\n" + textwrap.dedent(rest)).strip()


def main() -> None:
    args = sys.argv[1:]
    if args in (["--help"], ["-h"]) and _help_width() == 78:
        sys.stdout.write(root_help())
        return
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"cao, version {__version__}\n")
        return
    sys.exit(__getattr__("cli").main(prog_name="cao"))


def _help_width() -> int:
    """The width click wraps help at: the terminal's columns (as ``shutil.get_terminal_size`` finds
    them, without importing shutil) capped at 80, minus 2."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
        columns = columns or 80
    return max(min(columns, 80) - 2, 50)
