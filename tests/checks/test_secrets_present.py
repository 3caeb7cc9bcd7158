"""secrets_present against the demo's vizora-secrets in kubesim: key names only, and
never a value, in evidence, errors or logs."""

import base64
import logging
import re

import pytest

from deployments.checks import secrets_present
from integrations.kube.adapter import ClusterError
from integrations.kube.cluster import ClusterClient
from tests.checks.conftest import seed_secret_values

SEED_KEYS = ["postgres-url", "mongodb-url", "redis-url", "jwt-secret", "device-jwt-secret",
             "stripe-secret-key"]  # fmt: skip
SECRETS = {"secret": "vizora-secrets", "keys": SEED_KEYS}


def assert_no_secret_value(text: str) -> None:
    for value in seed_secret_values():
        assert value not in text
        assert base64.b64encode(value.encode()).decode() not in text


def test_a_secret_with_every_required_key_passes(deployment):
    result = secrets_present.check(deployment, SECRETS)
    assert result.passed
    assert result.evidence == (
        "Secret vizora-prod/vizora-secrets holds all 6 required keys: postgres-url, "
        "mongodb-url, redis-url, jwt-secret, device-jwt-secret, stripe-secret-key."
    )
    assert_no_secret_value(result.evidence)


def test_missing_keys_fail_by_name(deployment):
    keys = [*SEED_KEYS, "sentry-dsn", "smtp-password"]
    result = secrets_present.check(deployment, {"secret": "vizora-secrets", "keys": keys})
    assert not result.passed
    assert result.evidence == (
        "Secret vizora-prod/vizora-secrets lacks 2 of 8 required keys: sentry-dsn, "
        "smtp-password (it holds device-jwt-secret, jwt-secret, mongodb-url, postgres-url, "
        "redis-url, stripe-secret-key)."
    )
    assert_no_secret_value(result.evidence)


def test_a_missing_secret_fails_naming_it_and_its_namespace(deployment):
    result = secrets_present.check(deployment, {"secret": "vizora-secret", "keys": SEED_KEYS})
    assert not result.passed
    assert result.evidence == "Secret vizora-prod/vizora-secret not found in cluster production."


def test_an_unreachable_cluster_fails_saying_where(unreachable, closed_address):
    result = secrets_present.check(unreachable, SECRETS)
    assert not result.passed
    assert re.fullmatch(
        rf"Cannot check Secret vizora-prod/vizora-secrets: cluster production at "
        rf"http://{closed_address} unreachable for \d+ s \(ConnectionRefused\)\.",
        result.evidence,
    ), result.evidence


def test_no_value_of_the_demo_secret_reaches_evidence_errors_or_logs(
    deployment, production, caplog
):
    caplog.set_level(logging.DEBUG)
    evidence = [
        secrets_present.check(deployment, SECRETS).evidence,
        secrets_present.check(deployment, {**SECRETS, "keys": [*SEED_KEYS, "x"]}).evidence,
    ]
    with ClusterClient(production.cluster) as kube:
        assert kube.read_secret_keys("vizora-prod", "vizora-secrets") == sorted(SEED_KEYS)
        with pytest.raises(ClusterError) as missing:
            kube.read_secret_keys("vizora-prod", "vizora-secret")
    assert missing.value.status == 404
    assert "secrets/vizora-secrets" in caplog.text  # the reads were logged, values not
    for text in [*evidence, str(missing.value), caplog.text]:
        assert_no_secret_value(text)
