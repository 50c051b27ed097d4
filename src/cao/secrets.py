"""Finding and masking secrets in text: API keys of common shapes, tokens, private keys, passwords in URLs.

``find(text)`` lists what looks like a secret (kind and span); ``mask(text)`` replaces each with
``[secret:<kind>]``. Used before anything an agent wrote is stored (memory) or shown to others.

The patterns favour the shapes vendors document (fixed prefixes, lengths, alphabets) over guesses,
so ordinary text survives: a ``sk-learn`` mention, an ``AKIA`` in a sentence, a URL with a port, a
``password: <placeholder>`` are left alone (tests/unit/test_secrets.py holds the corpus both ways).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A value that only names a secret (a placeholder, a variable, stars): not a secret itself.
_PLACEHOLDER = re.compile(r"^(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^>]*>|\{\{[^}]*\}\}|[*xX.•]+|%[sd]|"
                          r"(your|my|the)[-_]?\w*|changeme|password|secret|token|redacted|none|null)$",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    group: int = 0  # the part of the match that is secret (the rest, e.g. "password=", stays)
    mixed: bool = False  # the secret must mix letters and digits (random, not a word)


def _rule(kind: str, pattern: str, group: int = 0, *, flags: int = 0, mixed: bool = False) -> _Rule:
    return _Rule(kind, re.compile(pattern, flags), group, mixed)


RULES: tuple[_Rule, ...] = (
    _rule("private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
                         r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*\Z)", flags=re.DOTALL),
    _rule("anthropic-key", r"\bsk-ant-[a-z]+\d*-[A-Za-z0-9_-]{20,}"),
    _rule("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", mixed=True),
    _rule("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    _rule("gitlab-token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    _rule("aws-access-key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", mixed=True),
    _rule("aws-secret-key", r"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})\b", 1),
    _rule("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    _rule("slack-token", r"\bxox[abposre]-[A-Za-z0-9-]{10,}\b"),
    _rule("slack-webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}"),
    _rule("discord-webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}"),
    _rule("stripe-key", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b"),
    _rule("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    _rule("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}\b", mixed=True),
    _rule("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    # scheme://user:password@host: only the password is secret.
    _rule("url-password", r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:([^\s/@]+)@[^\s/@]", 1),
    _rule("bearer-token", r"\b[Bb]earer\s+([A-Za-z0-9._~+/-]{20,}=*)", 1, mixed=True),
    # api_key = "…", "password": "…", TOKEN=…: a named credential with a value that is not a placeholder.
    _rule("credential", r"(?i:\b[\w-]*(?:api[_-]?key|secret|token|passw(?:or)?d|pwd|access[_-]?key)[\w-]*)"
                        r"[\"']?\s*(?::|=|:=|=>)\s*[\"']?([^\s\"'`,;(){}\[\]<>]{8,})", 1, mixed=True),
)


def _mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def find(text: str) -> list[Finding]:
    """What looks like a secret in ``text``, in order, without overlaps (the first rule to claim text wins)."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for rule in RULES:
        for match in rule.pattern.finditer(text):
            start, end = match.span(rule.group)
            value = match.group(rule.group)
            if rule.mixed and not _mixed(value):
                continue
            if rule.group and _PLACEHOLDER.match(value.strip("\"'")):
                continue
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append(Finding(rule.kind, start, end))
    return sorted(found, key=lambda f: f.start)


def mask(text: str) -> str:
    """``text`` with every secret ``find`` sees replaced by ``[secret:<kind>]``."""
    out: list[str] = []
    pos = 0
    for finding in find(text):
        out.append(text[pos:finding.start])
        out.append(f"[secret:{finding.kind}]")
        pos = finding.end
    out.append(text[pos:])
    return "".join(out)
