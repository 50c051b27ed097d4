"""The tmux boundary. Every tmux command cao runs goes through ``TmuxBackend.run``.

Agents are started as the window's own command (argv, executed by tmux without a shell),
so no user or agent text is ever parsed by a shell, and a login shell cannot reset PATH.

Commands are run as ``tmux [-L socket] ...`` subprocesses directly. (libtmux was used for this
alone — ``Server.cmd`` is a Popen — and importing it cost ~60-140 ms of every server start.)
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cao.errors import TmuxError

MIN_VERSION = (3, 2)
NOT_INSTALLED = "tmux is not installed; install it (apt-get install tmux / brew install tmux)"
HISTORY_LIMIT = 100_000
WINDOW_SIZE = (220, 50)
_PANE_FORMAT = "\t".join([
    "#{session_name}", "#{window_name}", "#{pane_id}", "#{pane_dead}", "#{pane_dead_status}",
    "#{pane_width}", "#{pane_height}", "#{session_attached}", "#{pane_pid}",
])


@dataclass(frozen=True)
class PaneInfo:
    session: str
    window: str
    pane_id: str
    dead: bool
    dead_status: int | None
    width: int
    height: int
    attached: bool
    pid: int | None = None


def _pipe_command(fifo: Path) -> str:
    """The pipe-pane reader: tmux's ``sh -c`` execs ``cat`` at once, so only ``cat`` (≈0.2 MB PSS) stays."""
    return f"exec cat >> {shlex.quote(str(fifo))}"


def parse_version(text: str) -> tuple[int, int]:
    match = re.search(r"(\d+)\.(\d+)", text)
    if not match:
        raise TmuxError(f"cannot read tmux's version from {text!r}")
    return int(match.group(1)), int(match.group(2))


class TmuxBackend:
    def __init__(self, socket_name: str | None = None) -> None:
        self.socket_name = socket_name
        self._binary: str | None = None
        self._version: str | None = None
        self._default_terminal: str | None = None

    # --- plumbing -------------------------------------------------------------------

    def _exec(self, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        """Run one tmux client; FileNotFoundError when tmux is not installed."""
        if self._binary is None:
            self._binary = shutil.which("tmux")
            if self._binary is None:
                raise FileNotFoundError("tmux")
        socket = ("-L", self.socket_name) if self.socket_name else ()
        return subprocess.run([self._binary, *socket, *args], capture_output=True, text=True, encoding="utf-8",
                              errors="backslashreplace", check=False)

    @staticmethod
    def _lines(stdout: str) -> list[str]:
        lines = stdout.split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def run(self, *args: str) -> list[str]:
        try:
            result = self._exec(args)
        except FileNotFoundError as exc:
            raise TmuxError(NOT_INSTALLED) from exc
        if result.returncode != 0:
            detail = result.stderr.strip().replace("\n", " ") or f"exit status {result.returncode}"
            raise TmuxError(f"tmux {args[0]} failed: {detail}")
        return self._lines(result.stdout)

    def check(self) -> str:
        """Return tmux's version; raise TmuxError when tmux is missing or too old."""
        if self._version is None:
            binary = shutil.which("tmux")
            if binary is None:
                raise TmuxError(NOT_INSTALLED)
            out = subprocess.run([binary, "-V"], capture_output=True, text=True, check=False).stdout.strip()
            if parse_version(out) < MIN_VERSION:
                raise TmuxError(f"{out} is too old; cao needs tmux {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer")
            self._version = out
        return self._version

    @property
    def known_version(self) -> str | None:
        """tmux's version if ``check`` has read it already (no subprocess)."""
        return self._version

    def attach_argv(self, target: str) -> list[str]:
        socket = ["-L", self.socket_name] if self.socket_name else []
        return ["tmux", *socket, "attach-session", "-t", target]

    def open_view(self, view: str, session: str, window: str) -> None:
        """A detached grouped session ``view`` showing ``session:window`` (for a read-only client)."""
        self.run(*self._view_commands(view, session, window, detached=True))

    @staticmethod
    def _view_commands(view: str, session: str, window: str, *, detached: bool) -> list[str]:
        """A grouped session: a viewer's own current window, so viewers of two windows of one session
        do not switch each other's screen, and no status line (the page shows only the agent)."""
        return ["new-session", *(["-d"] if detached else []), "-t", f"={session}", "-s", view, ";",
                "set-option", "status", "off", ";",  # the new session (a target would not find it yet)
                "select-window", "-t", f"={view}:{window}"]

    def view_argv(self, view: str, session: str, window: str, *, read_only: bool) -> list[str]:
        """A tmux client on a view of ``session:window``, destroyed with its client. A writable client
        creates its view itself (one tmux process); a read-only one attaches to a view made by
        ``open_view`` and neither types nor resizes the agent's window."""
        socket = ["-L", self.socket_name] if self.socket_name else []
        if read_only:
            return ["tmux", "-u", *socket, "attach-session", "-f", "read-only,ignore-size", "-t", f"={view}", ";",
                    "set-option", "-t", f"={view}", "destroy-unattached", "on"]
        return ["tmux", "-u", *socket, *self._view_commands(view, session, window, detached=False), ";",
                "set-option", "destroy-unattached", "on"]

    # --- queries (lenient: tmux not running means nothing exists) -------------------

    def _query(self, *args: str) -> list[str]:
        """A read that is lenient: no tmux, or no tmux server running, means nothing exists."""
        try:
            result = self._exec(args)
        except FileNotFoundError:
            return []
        return self._lines(result.stdout) if result.returncode == 0 else []

    def list_panes(self) -> list[PaneInfo]:
        panes = []
        for line in self._query("list-panes", "-a", "-F", _PANE_FORMAT):
            parts = line.split("\t")
            if len(parts) != 9:
                continue
            session, window, pane_id, dead, dead_status, width, height, attached, pid = parts
            panes.append(PaneInfo(session, window, pane_id, dead == "1",
                                  int(dead_status) if dead_status.isdigit() else None,
                                  int(width), int(height), attached not in ("", "0"),
                                  int(pid) if pid.isdigit() else None))
        return panes

    def list_sessions(self) -> dict[str, bool]:
        """Session name → whether a client is attached."""
        out = {}
        for line in self._query("list-sessions", "-F", "#{session_name}\t#{session_attached}"):
            name, _, attached = line.partition("\t")
            out[name] = attached not in ("", "0")
        return out

    def has_session(self, name: str) -> bool:
        return name in self.list_sessions()

    def default_terminal(self) -> str:
        """TERM for programs in panes (read once; before tmux runs, tmux's own default)."""
        if self._default_terminal is None:
            value = (self._query("show-options", "-gv", "default-terminal") or [""])[0].strip()
            if not value:
                return "tmux-256color"
            self._default_terminal = value
        return self._default_terminal

    # --- creation -------------------------------------------------------------------

    def create_window(self, *, session: str, window: str, cwd: Path, argv: list[str], fifo: Path,
                      new_session: bool) -> tuple[str, int | None]:
        """Start ``argv`` in a new window (and session), piping its output to ``fifo``.

        All steps run in one tmux invocation, so tmux reads none of the agent's output
        before the pipe is in place. Returns the pane id and the agent's pid.
        """
        target = f"{session}:{window}"
        pipe = _pipe_command(fifo)
        width, height = WINDOW_SIZE
        cmds: list[list[str]] = []
        if new_session:
            # A placeholder first window lets the agent's pane get the session's history limit.
            cmds += [
                ["new-session", "-d", "-s", session, "-n", "_cao_init", "-x", str(width), "-y", str(height),
                 "-c", str(cwd), "--", "sleep", "30"],
                ["set-option", "-t", session, "history-limit", str(HISTORY_LIMIT)],
            ]
        cmds += [
            ["new-window", "-d", "-t", f"{session}:", "-n", window, "-c", str(cwd),
             "-P", "-F", "#{pane_id} #{pane_pid}", "--", *argv],
            ["set-option", "-w", "-t", target, "remain-on-exit", "on"],
            ["set-option", "-w", "-t", target, "automatic-rename", "off"],
            ["pipe-pane", "-t", target, pipe],
        ]
        if new_session:
            cmds.append(["kill-window", "-t", f"{session}:_cao_init"])
        args: list[str] = []
        for cmd in cmds:
            args += [*cmd, ";"]
        out = self.run(*args[:-1])
        panes = [line.split() for line in out if line.startswith("%")]
        if not panes:
            raise TmuxError(f"tmux did not report the pane of window {target}")
        pane_id, pid = (panes[0] + [""])[:2]
        return pane_id, int(pid) if pid.isdigit() else None

    def pipe(self, pane_id: str, fifo: Path) -> None:
        self.run("pipe-pane", "-t", pane_id, _pipe_command(fifo))

    def pipe_and_capture(self, targets: list[tuple[str, Path | None]]) -> dict[str, tuple[str, tuple[int, int]]]:
        """Pipe each pane to its FIFO (none for a dead pane: tmux refuses), then capture its screen
        (plain text) and cursor: one tmux run for all.

        Returns pane id → (captured screen, cursor). Raises TmuxError if any step fails (tmux stops
        at the first failing command), e.g. a pane that vanished meanwhile.
        """
        marker = f"cao-capture-end-{secrets.token_hex(8)}"  # pane output cannot guess it
        args: list[str] = []
        for pane_id, fifo in targets:
            if fifo is not None:
                args += ["pipe-pane", "-t", pane_id, _pipe_command(fifo), ";"]
            args += ["capture-pane", "-p", "-t", pane_id, ";",
                     "display-message", "-p", "-t", pane_id, f"{marker} #{{pane_id}} #{{cursor_x}} #{{cursor_y}}",
                     ";"]
        if not args:
            return {}
        result: dict[str, tuple[str, tuple[int, int]]] = {}
        screen: list[str] = []
        for line in self.run(*args[:-1]):
            if line.startswith(marker + " "):
                pane_id, x, y = line[len(marker) + 1:].split()
                result[pane_id] = ("\n".join(screen), (int(x), int(y)))
                screen = []
            else:
                screen.append(line)
        return result

    def unpipe(self, pane_id: str) -> None:
        self._query("pipe-pane", "-t", pane_id)

    # --- input and output -----------------------------------------------------------

    def paste(self, pane_id: str, text: str, *, bracketed: bool, enter: bool) -> None:
        """Put ``text`` into the pane as one paste (bracketed if the program asked for it)."""
        fd, path = tempfile.mkstemp(prefix="cao-paste-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            buffer = f"cao_{pane_id.lstrip('%')}"
            args = ["load-buffer", "-b", buffer, path, ";",
                    "paste-buffer", "-d", "-r", "-b", buffer, "-t", pane_id]
            if bracketed:
                args.append("-p")
            if enter:
                args += [";", "send-keys", "-t", pane_id, "Enter"]
            self.run(*args)
        finally:
            os.unlink(path)

    def send_keys(self, pane_id: str, *keys: str) -> None:
        self.run("send-keys", "-t", pane_id, *keys)

    def capture(self, pane_id: str, *, history: bool = False, escapes: bool = False) -> str:
        args = ["capture-pane", "-p", "-t", pane_id]
        if history:
            args += ["-J", "-S", "-"]
        if escapes:
            args.append("-e")
        return "\n".join(self.run(*args))

    def cursor(self, pane_id: str) -> tuple[int, int]:
        out = self.run("display-message", "-p", "-t", pane_id, "#{cursor_x} #{cursor_y}")
        x, y = (out[0] if out else "0 0").split()
        return int(x), int(y)

    # --- teardown -------------------------------------------------------------------

    def kill_window(self, pane_id: str) -> None:
        self._query("kill-pane", "-t", pane_id)

    def kill_session(self, name: str) -> None:
        self._query("kill-session", "-t", f"={name}")
