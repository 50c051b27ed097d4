"""YAML with line numbers: the plain values of a document and, for every path in it, its line.

PyYAML's composer keeps a mark on every node; ``load`` walks the node tree itself (instead of
``yaml.safe_load``) so each error about a field can say on which line the field is. Duplicate keys,
which PyYAML silently resolves to the last one, are an error here.
"""

from __future__ import annotations

from typing import Any

import yaml

from cao.errors import InvalidTeam

Path = tuple[str | int, ...]


def load(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """The document's value and ``{path: 1-based line}`` (a mapping key's line for its value)."""
    loader = yaml.SafeLoader(text.removeprefix("\ufeff"))
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        value = None if node is None else _walk(loader, node, (), lines, source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidTeam(f"{source}{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()
    return value, lines


def _walk(loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int], source: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, child, (*path, index), lines, source) for index, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # merge keys (<<: *anchor)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise InvalidTeam(f"{source}:{line}: a key must be a plain name, not a list or mapping")
            key = str(loader.construct_object(key_node))
            if key in out:
                raise InvalidTeam(f"{source}:{line}: {_dotted((*path, key))}: the key appears twice "
                                  f"(first on line {lines[(*path, key)]}); keep one")
            lines[(*path, key)] = line
            out[key] = _walk(loader, value_node, (*path, key), lines, source)
        return out
    return loader.construct_object(node)


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted = _dotted
