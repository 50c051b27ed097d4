"""The virtual screen's incrementally rendered rows are exactly what pyte's full render shows."""

from __future__ import annotations

import random

import pytest
from wcwidth import wcwidth

from cao.screen import VirtualScreen

FEEDS = [
    b"hello\r\nworld",
    b"\x1b[31mred\x1b[0m plain \x1b[1;44mbold on blue\x1b[0m\r\n",
    "wide: 漢字かな 🙂 end\r\n".encode(),
    b"\x1b[2J\x1b[H",  # clear the screen
    b"\x1b[5;10Hplaced\x1b[1;1Hover",
    "漢字\x1b[1Dx\x1b[3Dy\r\n".encode(),  # overwrite inside a wide character
    b"".join(f"line {i}\r\n".encode() for i in range(80)),  # scrolls
    b"\x1b[K\x1b[1K\x1b[2K",
    "❯ prompt with a glyph split".encode()[:5],
    "❯ prompt with a glyph split".encode()[5:],
    b"\x1b[?1049h alternate screen \x1b[?1049l",
    b"\ttab\tstops\r\n\x08\x08back",
]


def _pyte_rows(screen: VirtualScreen) -> list[str]:
    """pyte's ``Screen.display``, cell by cell — except that a stub without its wide character
    (on which pyte raises IndexError) is a blank."""
    pyte_screen, rows = screen.screen, []
    for y in range(pyte_screen.lines):
        line, out, skip = pyte_screen.buffer[y], [], False
        for x in range(pyte_screen.columns):
            if skip:
                skip = False
                continue
            char = line[x].data or " "
            skip = wcwidth(char[0]) == 2
            out.append(char)
        rows.append("".join(out).rstrip())
    return rows


def test_each_feed_renders_like_pyte() -> None:
    screen = VirtualScreen(40, 12)
    for data in FEEDS:
        screen.feed(data)
        assert screen.rows() == _pyte_rows(screen) == [r.rstrip() for r in screen.screen.display], data


@pytest.mark.parametrize("seed", range(5))
def test_random_streams_render_like_pyte(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["a", "bc ", "漢", "🙂", "\r\n", "\x1b[2J", "\x1b[H", "\x1b[3;7H", "\x1b[K", "\x1b[1D", "\x1b[31m", " ",
              "\x1b[2;5r", "\x1b[S", "\x1b[L", "\x1b[P", "\x1b[@", "\x08"]
    screen = VirtualScreen(30, 8)
    for _ in range(300):
        screen.feed("".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))).encode())
        assert screen.rows() == _pyte_rows(screen)


def test_feed_reports_only_visible_changes() -> None:
    screen = VirtualScreen(20, 5)
    assert screen.feed(b"text")
    assert not screen.feed(b"\x1b[1;1H")  # the cursor moved; no row changed
    assert screen.feed(b"T")


def test_reset_rebuilds_rows_at_the_new_size() -> None:
    screen = VirtualScreen(20, 5)
    screen.feed(b"old content")
    screen.reset(30, 4, "first\nsecond \x1b[32mgreen\x1b[0m\nthird", (2, 2))
    assert screen.size == (30, 4)
    assert screen.rows() == ["first", "second green", "third", ""] == _pyte_rows(screen)


def test_load_from_a_plain_capture_shows_what_parsing_it_shows() -> None:
    capture = "\n".join(["plain line", "wide 漢字 and 🙂 emoji", "combining e\u0301 and a\u0308", "",
                         "─" * 48, "x" * 42 + "漢漢漢", "   indented", "last line"])
    loaded, parsed = VirtualScreen(48, 10), VirtualScreen(48, 10)
    loaded.feed(b"stale content that must go")
    loaded.load(48, 10, capture, (3, 4))
    parsed.reset(48, 10, capture, (3, 4))
    assert loaded.rows() == parsed.rows() == _pyte_rows(parsed)
    assert loaded.rows()[1] == "wide 漢字 and 🙂 emoji"
    assert (loaded.screen.cursor.x, loaded.screen.cursor.y) == (3, 4)
    loaded.feed(b"\x1b[1;7HLINE")  # later output lands on the loaded cells as on parsed ones
    parsed.feed(b"\x1b[1;7HLINE")
    assert loaded.rows() == parsed.rows()


@pytest.mark.parametrize("sequence", [
    b"\x1b[?4m", b"\x1b[>4;2m", b"\x1b[?1;2;3m", b"\x1b[>1u", b"\x1b[=5c", b"\x1b[?u", b"\x1b[>0q",
    b"\x1b[99999999999999999999A", b"\x1b[?999999999999999999h", b"\x1b]8;;http://x\x07link\x1b]8;;\x07",
    b"\x1b(Z", b"\x1b#9", b"\x1bP+q544e\x1b\\",
])
def test_a_sequence_pyte_cannot_apply_is_skipped_and_the_rest_still_drawn(sequence: bytes) -> None:
    screen = VirtualScreen(40, 5)
    assert screen.feed(b"before " + sequence + b" after\r\n> prompt")  # one read, as the FIFO delivers it
    rows = screen.rows()
    assert rows[0].startswith("before") and rows[0].endswith("after") and rows[1] == "> prompt"


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    screen = VirtualScreen(80, 24)
    alphabet = b"\x1b[]?>;0123456789mhlHJKABCDPq\x07\\()#=\r\n\t\x08 abc\xe2\x9d\xaf\xff"
    for _ in range(200):
        screen.feed(bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 64))))
    screen.feed(b"\x1bc\r\nstill alive")  # a full reset, then text: the screen still works
    assert "still alive" in "\n".join(screen.rows())


def test_recorded_cli_output_feeds_without_raising() -> None:
    """Every screen recorded from the real CLIs (tests/screens/), fed as one stream at several widths."""
    from pathlib import Path

    corpus = sorted((Path(__file__).parent.parent / "screens").rglob("*.txt"))
    assert corpus, "no recorded screens found"
    for columns in (40, 220):
        screen = VirtualScreen(columns, 50)
        for path in corpus:
            screen.feed(path.read_bytes().replace(b"\n", b"\r\n"))
        assert screen.screen.skipped_sequences == 0  # plain recordings hold nothing to skip


def test_string_sequences_are_not_drawn_even_when_split_across_reads() -> None:
    query = b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"  # kitty graphics query (Claude Code 2.1.332)
    whole = VirtualScreen(60, 3)
    whole.feed("❯ No, exit".encode() + query + b" | \x1bP+q544e\x07 | \x1b^pm\x1b\\ end")
    assert whole.rows()[0] == "❯ No, exit |  |  end"
    split = VirtualScreen(60, 3)
    for cut in (b"\x1b", b"_Gi=31,s=1", b",v=1;AAAA\x1b", b"\\after"):
        split.feed(cut)
    assert split.rows()[0] == "after"
