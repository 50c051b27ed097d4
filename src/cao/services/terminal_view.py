"""A live view of one terminal for the browser: a real tmux client on a pseudo-terminal.

Each viewer gets its own grouped tmux session (``cao_view_<hex>``) showing the terminal's window, so
two viewers of one session never switch each other's window, and a tmux client attached to it on a
PTY of its own: what tmux draws for that client is what the browser's xterm.js shows, byte for byte.
Closing the view ends only that client (its session goes with it); the agent keeps running.

Backpressure: at most ``MAX_PENDING`` bytes wait for a slow viewer; beyond that the PTY is not read
until they are sent, so tmux (which copes with slow clients by itself) holds the rest, and neither the
agent nor the server nor other viewers wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import secrets
import signal
import struct
import subprocess
import termios
from dataclasses import dataclass, field

from cao.tmux import TmuxBackend

READ_SIZE = 65536
MAX_PENDING = 1 << 20
INPUT_CHUNK = 1024
MAX_ROWS, MAX_COLS = 500, 1000
STOP_GRACE_S = 3.0


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


@dataclass(eq=False)
class TerminalView:
    tmux: TmuxBackend
    session: str
    window: str
    read_only: bool = False
    view: str = field(default_factory=lambda: f"cao_view_{secrets.token_hex(4)}")
    _fd: int = -1
    _proc: subprocess.Popen[bytes] | None = None
    _chunks: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    _pending: int = 0
    _reading: bool = False
    _loop: asyncio.AbstractEventLoop | None = None

    async def start(self, rows: int = 24, cols: int = 80) -> None:
        """Open the view (a TmuxError when the window is gone) and start its client."""
        self._loop = asyncio.get_running_loop()
        if self.read_only:
            await asyncio.to_thread(self.tmux.open_view, self.view, self.session, self.window)
        master, slave = pty.openpty()
        _set_size(slave, *self._clamp(rows, cols))
        env = dict(os.environ)
        env.pop("TMUX", None)
        if env.get("TERM", "dumb") in ("", "dumb"):
            env["TERM"] = "xterm-256color"
        argv = self.tmux.view_argv(self.view, self.session, self.window, read_only=self.read_only)
        try:
            self._proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                          start_new_session=True, close_fds=True)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._fd = master
        os.set_blocking(master, False)
        self._resume()

    @property
    def paused(self) -> bool:
        """True while the PTY is not read because the viewer has not taken what was read (backpressure)."""
        return not self._reading and self._fd >= 0

    @property
    def pending(self) -> int:
        """Bytes read from the PTY and not yet taken by ``output()``."""
        return self._pending

    @staticmethod
    def _clamp(rows: int, cols: int) -> tuple[int, int]:
        return max(2, min(int(rows), MAX_ROWS)), max(2, min(int(cols), MAX_COLS))

    def _resume(self) -> None:
        if not self._reading and self._fd >= 0 and self._loop is not None:
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True

    def _pause(self) -> None:
        if self._reading and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO: the client exited
            data = b""
        if not data:
            self._pause()
            self._chunks.put_nowait(None)
            return
        self._pending += len(data)
        self._chunks.put_nowait(data)
        if self._pending >= MAX_PENDING:
            self._pause()

    async def output(self) -> bytes | None:
        """The next bytes the client drew (all that is ready, coalesced); None once it has ended."""
        chunk = await self._chunks.get()
        if chunk is None:
            self._chunks.put_nowait(None)
            return None
        parts = [chunk]
        while not self._chunks.empty():
            more = self._chunks.get_nowait()
            if more is None:
                self._chunks.put_nowait(None)
                break
            parts.append(more)
        data = b"".join(parts)
        self._pending -= len(data)
        if self._pending < MAX_PENDING:
            self._resume()
        return data

    async def write(self, text: str) -> None:
        """Type ``text`` (ignored for a read-only view), in 1 KiB pieces so a paste never floods the PTY."""
        if self.read_only or self._fd < 0:
            return
        data = text.encode()
        for start in range(0, len(data), INPUT_CHUNK):
            piece = data[start:start + INPUT_CHUNK]
            while piece:
                try:
                    piece = piece[os.write(self._fd, piece):]
                except BlockingIOError:
                    await asyncio.sleep(0.01)
            if start + INPUT_CHUNK < len(data):
                await asyncio.sleep(0.01)

    def resize(self, rows: int, cols: int) -> None:
        if self._fd < 0 or self._proc is None:
            return
        _set_size(self._fd, *self._clamp(rows, cols))
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signal.SIGWINCH)  # tmux re-reads its size (it has no controlling tty)

    async def close(self) -> None:
        """End this viewer's client and its session; the terminal itself is untouched."""
        self._pause()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(proc.wait), STOP_GRACE_S)
            except TimeoutError:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        await asyncio.to_thread(self.tmux.kill_session, self.view)
