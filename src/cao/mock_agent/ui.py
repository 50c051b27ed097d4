"""What the mock agent draws: transcript lines, the idle prompt box, the spinner, dialogs.

The transcript scrolls normally (no alternate screen). Below it sits at most one *live
region* (the prompt box, or the permission box) that is redrawn in place: the cursor is
moved back to the region's first row, everything below is erased (``ESC [ J``) and the
region is printed again. Live rows never wrap (they are cut to the terminal width), so the
number of rows to move up is always known.
"""

from __future__ import annotations

import shutil
import sys
import unicodedata

RULE = "─"
PROMPT = "❯"
SPINNER_GLYPHS = "✶✸✹✺✹✷"
FOOTER = "  ? for shortcuts"
MAX_INPUT_ROWS = 5
HISTORY_LINES = 400

DIM, BOLD, RESET = "\x1b[2m", "\x1b[1m", "\x1b[0m"
ORANGE, RED, GREEN, BLUE = "\x1b[38;5;209m", "\x1b[38;5;203m", "\x1b[38;5;114m", "\x1b[38;5;111m"


def clean(text: str) -> str:
    """Make text safe to print: tabs become spaces, other control characters (not newlines) "?"."""
    text = text.replace("\t", "    ")
    if any((ch < " " and ch != "\n") or ch == "\x7f" for ch in text):
        text = "".join("?" if (ch < " " and ch != "\n") or ch == "\x7f" else ch for ch in text)
    return text


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def fit(text: str, width: int, *, keep_tail: bool = False) -> str:
    """Cut ``text`` to ``width`` columns, marking the cut with "…"."""
    if text_width(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    chars = reversed(text) if keep_tail else iter(text)
    out, used = [], 1
    for ch in chars:
        w = char_width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "…" + "".join(reversed(out)) if keep_tail else "".join(out) + "…"


def box(lines: list[str], columns: int, min_width: int = 0) -> list[str]:
    """A rounded box around ``lines``: content width (at least ``min_width``), at most ``columns``."""
    inner = min(max(min_width - 2, *(text_width(line) + 2 for line in lines)), max(columns - 2, 4))
    out = ["╭" + RULE * inner + "╮"]
    for line in lines:
        cut = fit(line, inner - 2)
        out.append("│ " + cut + " " * (inner - 2 - text_width(cut)) + " │")
    out.append("╰" + RULE * inner + "╯")
    return out


def prompt_rows(text: str, columns: int) -> list[str]:
    """The rows of the input line(s) inside the prompt box; the cursor goes at the end of the last."""
    lines = clean(text).split("\n")
    if len(lines) > MAX_INPUT_ROWS:
        hidden = len(lines) - (MAX_INPUT_ROWS - 1)
        lines = [lines[0], f"… (+{hidden} more lines)", *lines[-(MAX_INPUT_ROWS - 2):]]
    width = max(columns - 3, 4)
    rows = []
    for i, line in enumerate(lines):
        prefix = f"{PROMPT} " if i == 0 else "  "
        rows.append(prefix + fit(line, width, keep_tail=i == len(lines) - 1))
    return rows


class Screen:
    """Writes to the terminal; tracks the live region and a short history for resize redraws."""

    def __init__(self, out=None, live: bool = True) -> None:
        self.out = out or sys.stdout
        self.live = live  # False when not on a terminal: no cursor motion, no spinner
        self.region_up = 0  # rows from the live region's first row to the cursor; -1: no region
        self.region_active = False
        self.spinner_shown = False
        self.history: list[str] = []

    @property
    def columns(self) -> int:
        return max(shutil.get_terminal_size((80, 24)).columns, 10)

    @property
    def rows(self) -> int:
        return max(shutil.get_terminal_size((80, 24)).lines, 5)

    def write(self, data: str) -> None:
        self.out.write(data)
        self.out.flush()

    def _clear_live(self) -> str:
        seq = ""
        if self.spinner_shown:
            seq += "\r\x1b[K"
            self.spinner_shown = False
        if self.region_active:
            seq += "\r" + (f"\x1b[{self.region_up}A" if self.region_up else "") + "\x1b[J"
            self.region_active = False
        return seq if self.live else ""

    def print(self, lines: list[str], styled: list[str] | None = None) -> None:
        """Append lines to the transcript (replacing any live region or spinner)."""
        self.history.extend(lines)
        del self.history[:-HISTORY_LINES]
        shown = styled if styled and self.live else lines  # no colours when not on a terminal
        self.write(self._clear_live() + "".join(line + "\n" for line in shown))

    def spinner(self, frame: int, elapsed: float, verb: str = "Working") -> None:
        if not self.live:
            return
        glyph = SPINNER_GLYPHS[frame % len(SPINNER_GLYPHS)]
        line = f"\r{ORANGE}{glyph} {verb}…{RESET} {DIM}({int(elapsed)}s · esc to interrupt){RESET}"
        self.write(self._clear_live() + line)
        self.spinner_shown = True

    def prompt_box(self, text: str) -> None:
        """Draw (or redraw) the idle prompt box holding the input ``text``."""
        cols = self.columns
        rule = DIM + RULE * cols + RESET
        rows = prompt_rows(text, cols)
        if not self.live:
            self.write("".join(line + "\n" for line in [RULE * cols, *rows, RULE * cols, FOOTER]))
            return
        body = [rule, *rows, rule, DIM + FOOTER + RESET]
        seq = self._clear_live() + "\x1b[?25l" + "\n".join(body)
        # back up from the footer to the end of the last input row
        seq += f"\x1b[2A\r\x1b[{text_width(rows[-1])}C" if text_width(rows[-1]) else "\x1b[2A\r"
        self.write(seq + "\x1b[?25h")
        self.region_active = True
        self.region_up = len(rows)

    def dialog(self, lines: list[str]) -> None:
        """A live box (e.g. the permission question) below the transcript; cursor below it."""
        drawn = box(lines, self.columns)
        if not self.live:
            self.write("".join(line + "\n" for line in drawn))
            return
        self.write(self._clear_live() + "\x1b[?25l" + "".join(line + "\n" for line in drawn))
        self.region_active = True
        self.region_up = len(drawn)

    def clear_live(self) -> None:
        self.write(self._clear_live())

    def redraw_all(self, input_text: str) -> None:
        """After a resize: clear the screen, reprint the transcript tail and the prompt box."""
        if not self.live:
            return
        cols, budget = self.columns, self.rows - 4 - len(prompt_rows(input_text, self.columns))
        tail: list[str] = []
        for line in reversed(self.history):
            need = max(1, -(-text_width(line) // cols))
            if need > budget:
                break
            tail.append(line)
            budget -= need
        self.region_active = self.spinner_shown = False
        self.write("\x1b[H\x1b[2J" + "".join(line + "\n" for line in reversed(tail)))
        self.prompt_box(input_text)
