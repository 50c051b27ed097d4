"""A virtual screen per terminal: the pane's output stream rendered by pyte.

The rows are kept rendered: after each feed only the lines pyte marked dirty are re-rendered,
from the cells that are set. (pyte's own ``Screen.display`` renders every cell of every line,
wcwidth included, on each call: with a 220×50 pane that was over half of the server's CPU when
ten agents answered at once.)
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyte

# pyte (and its wcwidth tables, ~25 ms to import) load with the first screen, not with the server.
wcwidth: Any = None

WIDE_FROM = "\u1100"  # no character below this is double width
# APC, PM, SOS and DCS strings end at ST (ESC \) or, as terminals accept, BEL.
STRING_SEQUENCE = re.compile(r"\x1b[_^XP][^\x07\x1b]*(?:\x07|\x1b\\)")
OPEN_STRING = re.compile(r"\x1b[_^XP][^\x07\x1b]*\x1b?$|\x1b$")  # (the ESC of its ST may come next)
MAX_HELD = 65536


_tolerant_screen: Any = None
log = logging.getLogger(__name__)


def _load_pyte() -> Any:
    global wcwidth, _tolerant_screen
    import pyte
    from wcwidth import wcwidth as width_of

    wcwidth = width_of
    if _tolerant_screen is None:
        _tolerant_screen = _make_tolerant_screen(pyte)
    return pyte


def _make_tolerant_screen(pyte: Any) -> type:
    """A pyte Screen whose every control-sequence handler skips what it cannot apply, instead of raising.

    pyte raises on sequences it does not model — e.g. ``CSI ? 4 m`` (a private SGR that Gemini CLI
    sends): ``select_graphic_rendition()`` gets ``private=True`` and throws TypeError, and the rest of
    that read was lost, so a screen could miss the very prompt that ends a turn. Skipping one
    unknown sequence keeps everything after it.
    """
    names = {"draw", "set_title", "set_icon_name", "define_charset"}
    for table in (pyte.Stream.basic, pyte.Stream.escape, pyte.Stream.sharp, pyte.Stream.csi):
        names.update(table.values())

    def tolerant(method: Any) -> Any:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                self.skipped_sequences += 1
                if self.skipped_sequences == 1:
                    log.info("skipped a control sequence the virtual screen cannot apply: %s%r: %s",
                             method.__name__, args, exc)
                return None
        return call

    namespace = {name: tolerant(getattr(pyte.Screen, name)) for name in names if hasattr(pyte.Screen, name)}
    namespace["skipped_sequences"] = 0
    return type("TolerantScreen", (pyte.Screen,), namespace)


def render_line(line: dict[int, pyte.screens.Char], columns: int) -> str:
    """One line as ``Screen.display`` renders it (missing cells are blanks; a wide char hides the next
    cell), with trailing blanks removed. A wide char's stub left alone (pyte's ``display`` raises
    IndexError on one, e.g. after a character was deleted before it) is a blank."""
    parts: list[str] = []
    column = 0  # the next column to render
    for x in sorted(line):
        if x >= columns:
            break
        if x < column:
            continue  # the stub after a wide character
        if x > column:
            parts.append(" " * (x - column))
        data = line[x].data or " "
        parts.append(data)
        column = x + (2 if data[0] >= WIDE_FROM and wcwidth(data[0]) == 2 else 1)
    return "".join(parts).rstrip()


class VirtualScreen:
    def __init__(self, columns: int, lines: int) -> None:
        pyte = _load_pyte()
        self.screen = _tolerant_screen(columns, lines)
        self.stream = pyte.Stream(self.screen)
        # Incremental decoding: a glyph split across two reads must not become U+FFFD.
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""  # the start of a string sequence whose end has not arrived yet
        self._rows = [""] * lines

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.columns, self.screen.lines

    def feed(self, data: bytes) -> bool:
        """Feed raw pane output; return whether any visible row changed."""
        text = self._without_strings(self.decoder.decode(data))
        if text:
            try:
                self.stream.feed(text)
            except Exception:  # the parser itself failed (pyte resets it): keep what was drawn so far
                log.exception("the virtual screen could not parse part of the output")
        return self._render_dirty()

    def _without_strings(self, text: str) -> str:
        """Drop APC, PM, SOS and DCS strings (e.g. a kitty graphics query ``ESC _ G… ESC \\``, which Claude
        Code 2.1.332 sends): pyte would draw their payload as text. One cut across two reads is held back."""
        text = self._held + text
        self._held = ""
        text = STRING_SEQUENCE.sub("", text)
        tail = OPEN_STRING.search(text)
        if tail and len(text) - tail.start() < MAX_HELD:
            text, self._held = text[:tail.start()], text[tail.start():]
        return text

    def rows(self) -> list[str]:
        return list(self._rows)

    def reset(self, columns: int, lines: int, captured: str, cursor: tuple[int, int]) -> None:
        """Start over from a capture of the pane (``capture-pane -e``) and its cursor position."""
        self.screen.resize(lines, columns)
        self.screen.reset()
        self.stream.feed(captured.replace("\n", "\r\n"))
        x, y = cursor
        self.screen.cursor_position(y + 1, x + 1)
        self._rows = [""] * lines
        self.screen.dirty.update(range(lines))
        self._render_dirty()

    def load(self, columns: int, lines: int, captured: str, cursor: tuple[int, int]) -> None:
        """Start over from a plain capture (``capture-pane`` without ``-e``), writing the cells
        directly: blanks are left unset (as pyte leaves them) and equal cells share one (immutable)
        Char. ~50× faster than parsing the capture, which made re-adopting 50 panes take 0.3 s.
        Colours are not restored; detection reads text only."""
        self.screen.resize(lines, columns)
        self.screen.reset()
        blank = self.screen.default_char
        cells: dict[str, object] = {}
        for y, text in enumerate(captured.split("\n")[:lines]):
            if not text.strip():
                continue
            line, x = self.screen.buffer[y], 0
            for char in text:
                if x >= columns:
                    break
                width = 1 if " " <= char < "\u0300" else wcwidth(char)
                if width <= 0:  # as pyte draws: a combining mark joins the previous cell, others vanish
                    if width == 0 and x and unicodedata.combining(char):
                        previous = line[x - 1]
                        line[x - 1] = previous._replace(data=unicodedata.normalize("NFC", previous.data + char))
                    continue
                if char != " ":
                    cell = cells.get(char)
                    line[x] = cell if cell is not None else cells.setdefault(char, blank._replace(data=char))
                if width == 2 and x + 1 < columns:
                    line[x + 1] = blank._replace(data="")
                    x += 1
                x += 1
        x, y = cursor
        self.screen.cursor_position(y + 1, x + 1)
        self._rows = [""] * lines
        self.screen.dirty.update(range(lines))
        self._render_dirty()

    def _render_dirty(self) -> bool:
        screen, changed = self.screen, False
        for y in screen.dirty:
            if y < screen.lines:
                line = screen.buffer.get(y)  # not buffer[y]: that would create (and cost) an empty line
                row = render_line(line, screen.columns) if line else ""
                if row != self._rows[y]:
                    self._rows[y] = row
                    changed = True
        screen.dirty.clear()
        return changed
