"""redact_secrets' masker: a corpus of secret shapes, and look-alikes that must stay as they are."""

from __future__ import annotations

import pytest

from cao.teams.secrets import REDACTED, mask

SECRETS = [  # fake values of real shapes
    "ghp_" + "a1B2" * 9,
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "glpat-abcdefghij0123456789",
    "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "AKIAIOSFODNN7EXAMPLE",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "xoxb-123456789012-abcdefghijkl",
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
    "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
    "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "dckr_pat_abcdefghijklmnopqrstuvwx",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_token_shapes_are_masked_in_context(secret: str) -> None:
    assert mask(f"use --token={secret} now") == f"use --token={REDACTED} now"


@pytest.mark.parametrize(("text", "masked"), [
    ("postgres://app:s3cr3t-pw@db:5432/x", f"postgres://app:{REDACTED}@db:5432/x"),
    ("password: hunter2hunter2", f"password: {REDACTED}"),
    ('"api_key": "abcd1234efgh5678"', f'"api_key": "{REDACTED}"'),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", f"AWS_SECRET_ACCESS_KEY={REDACTED}"),
    ("key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nend",
     f"key:\n{REDACTED}\nend"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\ncut off", REDACTED),
])
def test_passwords_urls_and_keys_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    "ghp_short is not a token",
    "the AKIA prefix marks AWS keys",
    "we use sk-learn and the skeleton-key pattern",
    "https://user@example.com/path and git@github.com:org/repo.git",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
    "the password is in the vault; ask for the api key",
    "password: short",
    "eyJhbGciOi alone is just base64",
    "Bearer tokens go in the Authorization header",
])
def test_look_alikes_are_left_alone(text: str) -> None:
    assert mask(text) == text


def test_masking_is_idempotent() -> None:
    text = "a ghp_" + "x" * 36 + " and https://u:pw123456@h/ and password=abcdefgh1"
    once = mask(text)
    assert mask(once) == once and once.count(REDACTED) == 3
