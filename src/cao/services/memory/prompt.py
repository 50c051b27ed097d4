"""At terminal start, its memories go into its system prompt (a ``prompt_parts`` contributor), within a budget.

Which ones: the most recently stored of each of the terminal's scopes (session, project, agent,
global — nearest first), each scope with a fair share of ``CAO_MEMORY_PROMPT_CHARS`` and what a
scope leaves unused going to the others. Long memories are cut (the agent can ``memory_recall`` the
rest). The block is written into the terminal's own files by its provider, never the user's files.
"""

from __future__ import annotations

import logging

from cao.services import prompt_parts
from cao.services.memory import scopes, service
from cao.services.memory.config import SCOPES
from cao.services.memory.records import Memory

log = logging.getLogger(__name__)
PER_SCOPE = 10  # at most this many memories of each scope are candidates
ENTRY_CHARS = 400  # one memory's line is cut to this
MIN_LINE = 40  # a line cut shorter than this is left out instead
HEADER = ("<cao-memory>\n## Memories from earlier work\n"
          "Stored with memory_store by agents before you; memory_recall searches them all.\n")
FOOTER = "</cao-memory>"


def _line(memory: Memory, room: int) -> str | None:
    """The memory as one line of at most ``room`` characters (newline included), cut if need be; None if too cut."""
    text = " ".join(memory.content.split())
    line = f"- [{memory.scope}] {memory.key}: {text}"
    limit = min(ENTRY_CHARS, room - 1)
    if len(line) <= limit:
        return line
    return line[:limit - 1].rstrip() + "…" if limit >= MIN_LINE else None


def render(by_scope: dict[str, list[Memory]], budget: int) -> str | None:
    """The block for these memories (nearest scope first), at most ``budget`` characters; None if none fit."""
    room = budget - len(HEADER) - len(FOOTER)
    groups = [(s, by_scope.get(s) or []) for s in SCOPES if by_scope.get(s)]
    if not groups or room < MIN_LINE:
        return None
    chosen: dict[str, list[str]] = {s: [] for s, _ in groups}
    left: list[tuple[str, Memory]] = []
    share = room // len(groups)
    used = 0
    for scope, memories in groups:  # first: each scope within its share
        spent = 0
        for i, memory in enumerate(memories):
            line = _line(memory, share - spent)
            if line is None:
                left += [(scope, m) for m in memories[i:]]
                break
            chosen[scope].append(line)
            spent += len(line) + 1
        used += spent
    for scope, memory in left:  # then: what the others left unused, nearest scope first
        line = _line(memory, room - used)
        if line is None:
            continue
        chosen[scope].append(line)
        used += len(line) + 1
    lines = [line for scope, _ in groups for line in chosen[scope]]
    return HEADER + "".join(line + "\n" for line in lines) + FOOTER if lines else None


def memory_prompt(starting: prompt_parts.Starting) -> str | None:
    memory = starting.rt.settings.memory
    if not memory.enabled or memory.prompt_chars <= 0:
        return None
    try:
        project = scopes.project_id(starting.working_directory)
        mine = scopes.TerminalScopes(session=starting.session_name, project=project, agent=starting.profile.name)
        return render(service.store_of(starting.rt).recent_by_scope(mine.pairs(), PER_SCOPE), memory.prompt_chars)
    except Exception:  # memory must never stop an agent from starting
        log.exception("could not read memories for terminal %s", starting.terminal_id)
        return None


prompt_parts.CONTRIBUTORS.append(memory_prompt)
