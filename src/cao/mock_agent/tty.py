"""Terminal I/O for the mock agent: raw-ish tty mode, bracketed paste, and a key parser."""

from __future__ import annotations

import codecs
import os
import select

# Key events are plain tuples: (kind, text). Kinds:
#   "char" (text = the character), "paste" (text = the pasted block, newlines as "\n"),
#   "enter", "backspace", "ctrl_c", "ctrl_d", "ctrl_u", "escape".
Key = tuple[str, str]

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
ESCAPE_WAIT = 0.03  # a lone ESC followed by nothing for this long is the Escape key

CONTROL_KEYS = {
    "\r": "enter",
    "\n": "enter",
    "\x7f": "backspace",
    "\x08": "backspace",
    "\x03": "ctrl_c",
    "\x04": "ctrl_d",
    "\x15": "ctrl_u",
}


class KeyParser:
    """Turns decoded terminal input into key events; keeps incomplete sequences between feeds."""

    def __init__(self) -> None:
        self.buf = ""
        self.paste: list[str] | None = None  # inside a bracketed paste

    def feed(self, text: str) -> list[Key]:
        self.buf += text
        keys: list[Key] = []
        while self.buf:
            if self.paste is not None:
                end = self.buf.find(PASTE_END)
                if end < 0:
                    # keep a possible partial end marker in the buffer
                    keep = next((n for n in range(len(PASTE_END) - 1, 0, -1)
                                 if self.buf.endswith(PASTE_END[:n])), 0)
                    self.paste.append(self.buf[: len(self.buf) - keep])
                    self.buf = self.buf[len(self.buf) - keep:]
                    break
                self.paste.append(self.buf[:end])
                self.buf = self.buf[end + len(PASTE_END):]
                block = "".join(self.paste).replace("\r\n", "\n").replace("\r", "\n")
                self.paste = None
                keys.append(("paste", block))
                continue
            ch = self.buf[0]
            if ch == "\x1b":
                consumed = self._escape(keys)
                if consumed == 0:
                    break  # incomplete sequence: wait for more input
                self.buf = self.buf[consumed:]
                continue
            self.buf = self.buf[1:]
            if ch in CONTROL_KEYS:
                # "\r\n" from a line-based sender is one Enter
                if ch == "\r" and self.buf.startswith("\n"):
                    self.buf = self.buf[1:]
                keys.append((CONTROL_KEYS[ch], ""))
            elif ch == "\t":
                keys.append(("char", " "))
            elif ch >= " ":
                keys.append(("char", ch))
        return keys

    def _escape(self, keys: list[Key]) -> int:
        """Parse an escape sequence at the start of the buffer; return chars consumed (0: incomplete)."""
        buf = self.buf
        if len(buf) == 1:
            return 0
        if buf[1] == "[":
            i = 2
            while i < len(buf) and "\x30" <= buf[i] <= "\x3f":
                i += 1
            while i < len(buf) and "\x20" <= buf[i] <= "\x2f":
                i += 1
            if i >= len(buf):
                return 0
            seq = buf[: i + 1]
            if seq == PASTE_START:
                self.paste = []
            return i + 1  # other CSI sequences (arrows, focus events...) are ignored
        if buf[1] == "O":
            return 3 if len(buf) >= 3 else 0
        if buf[1] == "\x1b":
            keys.append(("escape", ""))
            return 1
        return 2  # Alt+key: ignored

    def flush_escape(self) -> list[Key]:
        """Called when no more input came after a lone ESC: it was the Escape key."""
        if self.buf == "\x1b" and self.paste is None:
            self.buf = ""
            return [("escape", "")]
        return []


class Terminal:
    """stdin in raw-ish mode (no echo, no line editing, no signals; output processing kept)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: list | None = None
        self.parser = KeyParser()
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.eof = False

    def enter(self) -> None:
        import termios

        self.saved = termios.tcgetattr(self.fd)
        mode = termios.tcgetattr(self.fd)
        mode[0] &= ~(termios.ICRNL | termios.IXON | termios.INLCR | termios.ISTRIP)
        mode[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, mode)

    def leave(self) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            self.saved = None

    def read_keys(self, timeout: float | None) -> list[Key]:
        """Wait up to ``timeout`` seconds (None: forever) for input; return the keys it made."""
        try:
            ready, _, _ = select.select([self.fd], [], [], timeout)
        except InterruptedError:
            return []
        if not ready:
            return []
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return []
        keys = self.parser.feed(self.decoder.decode(data))
        if self.parser.buf == "\x1b":
            more, _, _ = select.select([self.fd], [], [], ESCAPE_WAIT)
            if not more:
                keys += self.parser.flush_escape()
        return keys
