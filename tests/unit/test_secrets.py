"""cao.secrets on a corpus: every secret shape is masked, and text that only looks like one is left alone.

All keys here are fake: made of repeated or made-up characters in the vendors' documented shapes.
"""

from __future__ import annotations

import pytest

from cao import secrets

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n"
       "7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\n"
       "-----END RSA PRIVATE KEY-----")

# (text, the secret in it, its kind)
SECRETS = [
    (f"deploy key:\n{PEM}\nkeep it safe", PEM, "private-key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----",
     "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----",
     "private-key"),
    ("truncated: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
     "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "private-key"),
    ("use sk-ant-api03-AbCdEf0123456789AbCdEf0123456789-xyz_QQ for claude",
     "sk-ant-api03-AbCdEf0123456789AbCdEf0123456789-xyz_QQ", "anthropic-key"),
    ("OPENAI_API_KEY=sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56", "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
     "openai-key"),
    ("the key is sk-3kD9fJ2mQ8xP1vL7nR4tY6wZ0aB5cE8gH", "sk-3kD9fJ2mQ8xP1vL7nR4tY6wZ0aB5cE8gH", "openai-key"),
    ("token ghp_0123456789abcdefABCDEF0123456789abcd in CI", "ghp_0123456789abcdefABCDEF0123456789abcd",
     "github-token"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
     "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ", "github-token"),
    ("glpat-AbCdEf0123456789xyzQ", "glpat-AbCdEf0123456789xyzQ", "gitlab-token"),
    ("aws id AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "aws-access-key"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "aws-secret-key"),
    ("maps: AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv", "google-api-key"),
    ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
     "slack-token"),
    ("post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX now",
     "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "slack-webhook"),
    ("https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789",
     "https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789", "discord-webhook"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe-key"),
    ("//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
     "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "npm-token"),
    ("HF hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "huggingface-token"),
    ("cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt"),
    ("db is postgres://app:s3cr3t-Pa55@db.internal:5432/app", "s3cr3t-Pa55", "url-password"),
    ("clone https://oauth2:plainwordpassword@gitlab.example.com/x.git", "plainwordpassword", "url-password"),
    ("curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee' url",
     "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee", "bearer-token"),
    ('config {"api_key": "q8Zr2LmX0vT7"}', "q8Zr2LmX0vT7", "credential"),
    ("export DB_PASSWORD=hunter2hunter2", "hunter2hunter2", "credential"),
    ("SECRET_KEY = 'django-insecure-8f3k2j1h0g9'", "django-insecure-8f3k2j1h0g9", "credential"),
]

# Text that must come back unchanged.
LOOK_ALIKES = [
    "We use scikit-learn (sk-learn) and the sk-this-is-just-a-long-slug-name branch.",
    "AKIA is the prefix of AWS access key ids; the docs explain AKIA keys.",
    "Open http://localhost:8080/health and https://example.com:443/a/b?x=1.",
    "git clone git@github.com:org/repo.git and ssh user@host.example.com",
    "https://user@example.com/path has a user but no password",
    "password: <your password here>",
    "export DB_PASSWORD=${DB_PASSWORD}",
    "api_key = os.environ['API_KEY']",
    "token = get_token(session)",
    "TOKEN_LIMIT: 4096 tokens per request",
    "password=********",
    "the Bearer token is read from the header",
    "Authorization: Bearer <token>",
    "postgres://app:${PGPASSWORD}@db/app",
    "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 fixed it",
    "uuid 123e4567-e89b-12d3-a456-426614174000 names the run",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
    "eyJhbGciOi is only the start of a header",
    "the secret: dedication and practice",
    "passwords must have at least 12 characters",
    "ghp_ tokens start with ghp_ and are 40 characters long",
    "hf_hub_download(repo_id) loads a file",
]


@pytest.mark.parametrize("text, secret, kind", SECRETS, ids=[kind + str(i) for i, (_, _, kind) in enumerate(SECRETS)])
def test_each_secret_is_found_and_masked(text: str, secret: str, kind: str) -> None:
    findings = secrets.find(text)
    assert [(f.kind, text[f.start:f.end]) for f in findings] == [(kind, secret)]
    masked = secrets.mask(text)
    assert secret not in masked
    assert masked == text.replace(secret, f"[secret:{kind}]")


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert secrets.find(text) == []
    assert secrets.mask(text) == text


def test_several_secrets_in_one_text_are_all_masked_in_order() -> None:
    text = ("first AKIAIOSFODNN7EXAMPLE then https://u:p4ssw0rd@h.example then "
            "ghp_0123456789abcdefABCDEF0123456789abcd")
    assert [f.kind for f in secrets.find(text)] == ["aws-access-key", "url-password", "github-token"]
    assert secrets.mask(text) == ("first [secret:aws-access-key] then https://u:[secret:url-password]@h.example "
                                  "then [secret:github-token]")


def test_mask_is_idempotent_and_empty_text_is_fine() -> None:
    once = secrets.mask("export API_TOKEN=Zx81kLm02Qr7 and sk_test_4eC39HqLyjWDarjtT1zdp7dc")
    assert secrets.mask(once) == once
    assert secrets.mask("") == "" and secrets.find("") == []
