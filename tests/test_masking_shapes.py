"""The shapes `mask_secrets` recognises beyond the machine-output ones of test_masking.py:
the portal's own API tokens, PEM private keys, npm and GitLab tokens, Google API keys,
an AWS secret key after `/` or its name, and quoted secret values with spaces; and the
ordinary text people type (paths, digests, shas, public keys) left as it was.
"""

import secrets

import pytest

from api.tokens import TOKEN_FORMAT, TOKEN_PREFIX
from portal.masking import MASK, mask_json, mask_secrets, people_text
from tests.fake_secrets import (
    AWS_KEY_ID,
    AWS_SECRET,
    AWS_SECRET_LETTERS,
    GITLAB_TOKEN,
    GOOGLE_KEY,
    NPM_TOKEN,
    PEM_BODY,
    PORTAL_TOKEN,
    pem,
)


def test_the_fake_portal_token_has_the_issued_format():
    assert TOKEN_FORMAT.match(PORTAL_TOKEN)
    issued = TOKEN_PREFIX + secrets.token_urlsafe(32)
    assert mask_secrets(f"token {issued} leaked") == f"token {MASK} leaked"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"use {PORTAL_TOKEN} in CI", f"use {MASK} in CI"),
        (f"curl -H 'X: {PORTAL_TOKEN}'", f"curl -H 'X: {MASK}'"),
        (f"NPM_AUTH {NPM_TOKEN}.", f"NPM_AUTH {MASK}."),
        (f"gitlab {GITLAB_TOKEN} expired", f"gitlab {MASK} expired"),
        (f"maps key {GOOGLE_KEY}, rotate", f"maps key {MASK}, rotate"),
        (f"{AWS_KEY_ID}/{AWS_SECRET}", f"{MASK}/{MASK}"),
        (f"creds /{AWS_SECRET} in the bucket", f"creds /{MASK} in the bucket"),
        (f"aws_secret_access_key {AWS_SECRET}", f"aws_secret_access_key {MASK}"),
        (f"aws_secret_access_key {AWS_SECRET_LETTERS}", f"aws_secret_access_key {MASK}"),
        (f"AWS_SECRET_ACCESS_KEY: '{AWS_SECRET}'", f"AWS_SECRET_ACCESS_KEY: '{MASK}'"),
        (f"--aws-secret-access-key={AWS_SECRET} --x", f"--aws-secret-access-key={MASK} --x"),
        ("DB_PASSWORD = 'hunter2 with spaces' ok", f"DB_PASSWORD = '{MASK}' ok"),
        ('DB_PASSWORD="hunter2 with spaces" ok', f'DB_PASSWORD="{MASK}" ok'),
        ('PASSWORD: "a b c" then', f'PASSWORD: "{MASK}" then'),
        ('{"api_key": "two words"}', f'{{"api_key": "{MASK}"}}'),
        (r"secret = 'it\'s mine' end", f"secret = '{MASK}' end"),
        ("password: 'unterminated with spaces", f"password: '{MASK}"),
    ],
    ids=lambda value: value[:28],
)  # fmt: skip
def test_each_new_secret_form_is_masked(text, shown):
    assert mask_secrets(text) == shown


@pytest.mark.parametrize("label", ["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA "])
def test_a_private_key_block_is_masked_across_lines_keeping_its_markers(label):
    text = f"the key was:\n{pem(label)}\nplease rotate"
    masked = mask_secrets(text)
    assert masked == (
        f"the key was:\n-----BEGIN {label}PRIVATE KEY-----\n{MASK}\n"
        f"-----END {label}PRIVATE KEY-----\nplease rotate"
    )


def test_a_private_key_pasted_on_one_line_is_masked():
    one_line = " ".join(pem("RSA ").split())
    masked = mask_secrets(f"key {one_line} end")
    assert masked == f"key -----BEGIN RSA PRIVATE KEY----- {MASK} -----END RSA PRIVATE KEY----- end"


def test_a_private_key_cut_before_its_end_marker_is_masked_to_the_end():
    cut = pem("OPENSSH ").rsplit("\n", 1)[0]
    assert mask_secrets(cut) == f"-----BEGIN OPENSSH PRIVATE KEY-----\n{MASK}"


def test_two_private_keys_are_masked_each_and_the_text_between_stays():
    text = f"{pem('EC ')}\nand then\n{pem('')}"
    masked = mask_secrets(text)
    assert masked.count(MASK) == 2
    assert "\nand then\n" in masked
    assert not any(part in masked for part in PEM_BODY)


@pytest.mark.parametrize(
    "text",
    [
        "/usr/local/lib/python3.13/site-packages/django/core/handlers/base.py",
        "/home/alice/Projects/Vizora2/WebServer3/src",  # mixed case and digits, 43 chars
        "/srv/app/Vizora2Services/WebHandlers/Main",  # "/" + 40, but a path: 4 more slashes
        "/var/lib/docker/overlay2/3f786850e387550fdab836ed7e6dc881de23001b/diff",
        "rolled back to ghcr.io/your-org/vizora-web:2.0.0@sha256:"
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        "git 3f786850e387550fdab836ed7e6dc881de23001b and abbreviated 3f78685",
        "https://github.com/your-org/vizora-web/pull/1234/files",
        "token vzp_AbCdEfGh… was revoked",  # the prefix pages show, not a secret
        "npm_config_cache is set; glpat- prefixes; AIza is how Google keys start",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n"
        "-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUF\n"
        "-----END CERTIFICATE-----",
        "Incident 4242: the DB is read-only until 14:00 UTC; see #ops-oncall.",
        "Checked the 'login' and 'checkout' flows in Chrome and Firefox.",
        "We rotate the password on Friday (owner: bob).",
        'He said "ship it" after reading the diff.',
    ],
)
def test_ordinary_text_paths_digests_and_public_keys_are_kept(text):
    assert mask_secrets(text) == text


def test_people_text_masks_secrets_and_keeps_the_rest():
    typed = f"Locked: key {GITLAB_TOKEN} leaked in #4242, rotating"
    assert people_text(typed) == f"Locked: key {MASK} leaked in #4242, rotating"


def test_people_text_drops_terminal_escapes_and_carriage_returns_but_keeps_lines():
    assert people_text("line one\r\n\x1b[31mline two\x1b[0m\tend") == "line one\nline two\tend"


def test_json_strings_get_the_new_shapes_too():
    value = {"notes": [f"see {NPM_TOKEN}"], "nested": {"deep": PORTAL_TOKEN}, "n": 3}
    assert mask_json(value) == {"notes": [f"see {MASK}"], "nested": {"deep": MASK}, "n": 3}
