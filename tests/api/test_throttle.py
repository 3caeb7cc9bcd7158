"""Token failures are throttled like sign-ins: 10 failures of one token prefix or 30 from
one address within 15 minutes, and the API answers 429 with Retry-After, before any
token is looked up (a valid one too) until the wait ends."""

import json

from django.core.management import call_command

from accounts import throttling
from accounts.throttling import Kind
from audit.models import AuditEvent


def call(api, token: str | None, address: str = "10.1.1.1"):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = api.client.get("/api/v1/environments", headers=headers, REMOTE_ADDR=address)
    return response.status_code, response.json(), response


def unknown(n: int, prefix: str = "vzp_") -> str:
    """A well-formed token that was never issued, the n-th of its kind."""
    return (prefix + f"{n:043d}")[:47]


def test_many_bad_tokens_from_one_address_answer_429_with_retry_after(api, tokens, throttle_clock):
    for n in range(30):
        status, _, _ = call(api, unknown(n, f"vzp_{n:08d}"))
        assert status == 401
    status, body, response = call(api, unknown(99))
    assert status == 429
    assert response["Retry-After"] == "60"
    assert body == {
        "error": "Too many failed API calls from your address (10.1.1.1); try again in "
        "1 minute (at 11:39 UTC), or ask an admin to lift it. Until then no token is "
        "checked, not even a valid one.",
        "detail": {"retry_after_seconds": 60, "until": "2026-05-04T11:39:00+00:00"},
    }


def test_a_valid_token_from_a_throttled_address_is_refused_until_the_wait_ends(
    api, tokens, throttle_clock
):
    for _ in range(30):
        call(api, "not-a-token")
    assert call(api, tokens.engineer)[0] == 429
    assert call(api, tokens.engineer, address="10.1.1.2")[0] == 200
    throttle_clock.advance(minutes=1)
    assert call(api, tokens.engineer)[0] == 200


def test_a_throttled_call_is_answered_before_the_token_is_looked_up(
    api, tokens, throttle_clock, django_assert_num_queries
):
    for n in range(30):
        call(api, unknown(n, f"vzp_{n:08d}"))  # unknown tokens: each looked up, in vain
    with django_assert_num_queries(0):
        status, _, _ = call(api, tokens.engineer)
    assert status == 429


def test_failures_of_one_token_prefix_from_many_addresses_throttle_that_prefix(
    api, tokens, throttle_clock
):
    revoked_prefix = tokens.revoked[:12]
    for n in range(10):
        status, body, _ = call(api, tokens.revoked, address=f"10.2.0.{n}")
        assert status == 401 and "was revoked" in body["error"]
    status, body, response = call(api, tokens.revoked, address="10.2.1.1")
    assert status == 429 and response["Retry-After"] == "60"
    assert body["error"].startswith(f"Too many failed API calls with the token {revoked_prefix}…")
    assert call(api, tokens.engineer, address="10.2.1.1")[0] == 200  # another prefix


def test_a_malformed_token_counts_for_its_address_only_and_is_never_kept(
    api, world, throttle_clock
):
    pasted = "ghp_" + "s" * 36  # another kind of secret, pasted by mistake
    for n in range(10):
        call(api, pasted, address=f"10.3.0.{n}")
    assert throttling.active() == []
    for _ in range(30):
        call(api, pasted)
    [throttle] = throttling.active()
    assert (throttle.kind, throttle.subject) == (Kind.API_ADDRESS, "10.1.1.1")
    rows = AuditEvent.objects.filter(action__startswith="throttle.").values_list("detail")
    assert "ghp_" not in json.dumps(list(rows))


def test_the_engagement_is_audited_once(api, tokens, throttle_clock):
    for _ in range(40):
        call(api, None)
    rows = AuditEvent.objects.filter(action="throttle.engaged")
    assert [row.target for row in rows] == ["api-address:10.1.1.1"]


def test_an_operator_lifts_an_api_throttle_with_the_command(api, tokens, throttle_clock):
    for n in range(10):
        call(api, tokens.expired, address=f"10.4.0.{n}")
    prefix = tokens.expired[:12]
    call_command("lift_throttle", "--token-prefix", prefix)
    status, body, _ = call(api, tokens.expired)
    assert status == 401 and "expired at" in body["error"]
    lifted = AuditEvent.objects.get(action="throttle.lifted")
    assert (lifted.actor, lifted.target, lifted.detail["via"]) == (
        None,
        f"api-prefix:{prefix}",
        "manage.py lift_throttle",
    )
