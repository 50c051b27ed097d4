"""``mask``: secrets in a text replaced with ``[REDACTED]`` (a team member's ``redact_secrets``).

Minimal on purpose, until cao has one shared masker: each rule is a token shape with a
distinguishing prefix or keyword, so ordinary prose, hashes and ids are left alone. Masking is
idempotent. Only what a rule knows is found: this is a safety net, not a secret manager.
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"
_TOKENS = [
    r"gh[pousr]_[A-Za-z0-9]{36,255}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{22,255}",
    r"glpat-[A-Za-z0-9_-]{20,}",  # GitLab
    r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}",  # AWS access key ids
    r"(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
    r"xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
    r"sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",  # Anthropic, OpenAI
    r"AIza[0-9A-Za-z_-]{35}",  # Google API keys
    r"dckr_pat_[A-Za-z0-9_-]{20,}",  # Docker Hub
    r"npm_[A-Za-z0-9]{36}",  # npm
    r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
]
_TOKEN = re.compile(r"(?<![A-Za-z0-9_])(?:" + "|".join(_TOKENS) + r")(?![A-Za-z0-9])")
_PEM = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
                  re.DOTALL)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)", re.IGNORECASE)
_ASSIGNED = re.compile(
    r"(?i)(\b(?:aws_secret_access_key|password|passwd|pwd|secret|client_secret|api[_-]?key|access[_-]?token|"
    r"auth[_-]?token|private[_-]?token)\b[\"']?\s*[:=]\s*[\"']?)([^\s\"',;]{8,})")


def mask(text: str) -> str:
    """``text`` with every secret it recognises replaced by ``[REDACTED]``; the rest is kept as it was."""
    if not text:
        return text
    text = _PEM.sub(REDACTED, text)
    text = _TOKEN.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3) if m.group(2) != REDACTED
                             else m.group(0), text)
    return _ASSIGNED.sub(lambda m: m.group(1) + REDACTED if m.group(2) != REDACTED else m.group(0), text)
