"""A virtual screen per terminal: the pane's output stream rendered by pyte."""

from __future__ import annotations

import codecs

import pyte


class VirtualScreen:
    def __init__(self, columns: int, lines: int) -> None:
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.Stream(self.screen)
        # Incremental decoding: a glyph split across two reads must not become U+FFFD.
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.columns, self.screen.lines

    def feed(self, data: bytes) -> bool:
        """Feed raw pane output; return whether any visible row changed."""
        text = self.decoder.decode(data)
        if text:
            self.stream.feed(text)
        changed = bool(self.screen.dirty)
        self.screen.dirty.clear()
        return changed

    def rows(self) -> list[str]:
        return [row.rstrip() for row in self.screen.display]

    def reset(self, columns: int, lines: int, captured: str, cursor: tuple[int, int]) -> None:
        """Start over from a capture of the pane (``capture-pane -e``) and its cursor position."""
        self.screen.resize(lines, columns)
        self.screen.reset()
        self.stream.feed(captured.replace("\n", "\r\n"))
        x, y = cursor
        self.screen.cursor_position(y + 1, x + 1)
        self.screen.dirty.clear()
