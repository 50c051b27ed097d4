"""Durations as cagent writes them: seconds (``30``) or Go's format (``30s``, ``1m``, ``2m30s``, ``1h``)."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(value: object) -> float | None:
    """The duration in seconds, or None when ``value`` is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if _PART.sub("", text):  # something that is not a number with a unit
        return None
    return sum(float(n) * _UNIT[unit] for n, unit in _PART.findall(text))
