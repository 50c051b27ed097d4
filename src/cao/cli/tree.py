"""Who created whom in a session, drawn for people: live terminals and the removed ones."""

from __future__ import annotations


def with_removed(tree: list[dict], removed: list[dict]) -> list[dict]:
    """The session's live tree plus its removed terminals (snapshot metadata), each under its caller."""
    nodes: dict[str, dict] = {}

    def index(branch: list[dict]) -> list[dict]:
        copies = []
        for node in branch:
            copy = {**node, "children": index(node["children"])}
            nodes[copy["id"]] = copy
            copies.append(copy)
        return copies

    roots = index(tree)
    gone = [meta for meta in removed if meta["id"] not in nodes]
    for meta in gone:
        nodes[meta["id"]] = {"id": meta["id"], "agent_profile": meta["agent_profile"],
                             "status": f"{_outcome(meta)}, removed", "children": []}
    for meta in gone:
        parent = nodes.get(meta.get("caller_id") or "")
        (parent["children"] if parent else roots).append(nodes[meta["id"]])
    return roots


def _outcome(meta: dict) -> str:
    """How a removed terminal ended (a handoff worker is told to exit once it has answered)."""
    if meta.get("status") in ("idle", "completed"):
        return "finished"
    if meta.get("exit_reason"):
        return "exited"
    return meta.get("status") or "unknown"


def lines(nodes: list[dict], depth: int = 0) -> list[str]:
    out = []
    for node in nodes:
        out.append(f"{'  ' * depth}{'└ ' if depth else ''}{node['agent_profile']} {node['id']} ({node['status']})")
        out += lines(node["children"], depth + 1)
    return out
