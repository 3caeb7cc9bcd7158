"""Failed sign-ins are throttled per account and per client address: after 10 failures
to one account (30 from one address) within 15 minutes, attempts are refused without a
password check for a wait that doubles each time (1, 2, 4, 8 minutes, then 15 at most).
The throttle's clock is moved by hand (tests/harness/clock.py): nothing sleeps."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts import throttling
from accounts.throttling import Kind
from audit.models import AuditEvent

ACCOUNT_REFUSAL = (
    "Too many failed sign-ins for this account; try again in {wait} (at {at} UTC), "
    "or ask an admin to lift it. Until then no password is checked, not even the right one."
)


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def fail(client: Client, username: str, times: int, address: str = "10.0.0.1"):
    for _ in range(times):
        response = sign_in(client, username, "wrong password", address)
    return response


def test_twenty_wrong_passwords_then_the_right_one_is_refused_until_the_wait_ends(
    client, alice, throttle_clock
):
    fail(client, "alice", 20)
    response = sign_in(client, "alice", "alice-password")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert ACCOUNT_REFUSAL.format(wait="1 minute", at="11:39") in response.content.decode()
    assert signed_in_as(client) is None

    throttle_clock.advance(seconds=59)
    response = sign_in(client, "alice", "alice-password")
    assert response.status_code == 429 and signed_in_as(client) is None
    assert ACCOUNT_REFUSAL.format(wait="1 second", at="11:39") in response.content.decode()

    throttle_clock.advance(seconds=1)
    response = sign_in(client, "alice", "alice-password")
    assert response.status_code == 302
    assert signed_in_as(client) == str(alice.pk)


def test_the_tenth_failure_engages_the_throttle_and_says_so(client, alice, throttle_clock):
    ninth = fail(client, "alice", 9)
    assert ninth.status_code == 200
    assert "Your username and password didn&#x27;t match. Try again." in ninth.content.decode()
    tenth = sign_in(client, "alice", "wrong password")
    assert tenth.status_code == 429
    assert ACCOUNT_REFUSAL.format(wait="1 minute", at="11:39") in tenth.content.decode()


def test_a_throttled_attempt_is_refused_without_checking_the_password(
    client, alice, throttle_clock, django_assert_num_queries
):
    fail(client, "alice", 10)
    # Checking a password reads the user row: no query at all means it was not checked.
    with django_assert_num_queries(0):
        response = sign_in(client, "alice", "alice-password")
    assert response.status_code == 429


def test_the_account_is_counted_case_insensitively(client, alice, throttle_clock):
    for username in ("alice", "ALICE", "Alice", " alice"):
        fail(client, username, 3)
    assert sign_in(client, "alice", "alice-password").status_code == 429


def test_the_wait_doubles_each_time_and_is_capped_at_fifteen_minutes(client, alice, throttle_clock):
    waits = []
    for _ in range(7):
        response = fail(client, "alice", 10)
        waits.append(int(response["Retry-After"]))
        throttle_clock.advance(seconds=waits[-1])
    assert waits == [60, 120, 240, 480, 900, 900, 900]
    assert sign_in(client, "alice", "alice-password").status_code == 302


def test_a_day_without_a_throttle_starts_the_back_off_again(client, alice, throttle_clock):
    fail(client, "alice", 10)
    throttle_clock.advance(minutes=1)
    assert fail(client, "alice", 10)["Retry-After"] == "120"
    throttle_clock.advance(days=1, minutes=2)
    assert fail(client, "alice", 10)["Retry-After"] == "60"


def test_a_successful_sign_in_clears_the_account_count(client, alice, throttle_clock):
    fail(client, "alice", 9)
    assert sign_in(client, "alice", "alice-password").status_code == 302
    client.logout()
    fail(client, "alice", 9)
    assert sign_in(client, "alice", "alice-password").status_code == 302


def test_failures_in_an_earlier_window_do_not_count(client, alice, throttle_clock):
    fail(client, "alice", 9)
    throttle_clock.advance(minutes=15)
    fail(client, "alice", 9)
    assert sign_in(client, "alice", "alice-password").status_code == 302


def test_one_address_failing_across_many_accounts_is_throttled_by_address(
    client, alice, throttle_clock
):
    for name in ("bob", "carol", "dave", "erin", "frank", "grace"):
        fail(client, name, 5, address="10.0.0.9")  # 30 in all, no account reaches 10
    response = sign_in(client, "alice", "alice-password", address="10.0.0.9")
    assert response.status_code == 429
    assert (
        "Too many failed sign-ins from your address (10.0.0.9); try again in 1 minute "
        "(at 11:39 UTC), or ask an admin to lift it. Until then no password is checked, "
        "not even the right one."
    ) in response.content.decode()
    assert sign_in(client, "alice", "alice-password", address="10.0.0.10").status_code == 302


def test_an_ipv6_host_is_counted_by_its_64_network(client, alice, throttle_clock):
    for host in range(30):
        sign_in(client, f"user{host}", "wrong", address=f"2001:db8:1:2::{host:x}")
    response = sign_in(client, "alice", "alice-password", address="2001:db8:1:2::ffff")
    assert response.status_code == 429
    assert "(2001:db8:1:2::/64)" in response.content.decode()


def test_engaging_is_audited_once_not_each_failure(client, alice, throttle_clock):
    fail(client, "alice", 20)
    rows = list(AuditEvent.objects.filter(action__startswith="throttle."))
    assert [(row.action, row.target, row.actor) for row in rows] == [
        ("throttle.engaged", "signin-account:alice", None)
    ]
    assert rows[0].detail | {"until": "…"} == {
        "kind": "signin-account",
        "subject": "alice",
        "failures": 10,
        "window_seconds": 900,
        "wait_seconds": 60,
        "until": "…",
        "strikes": 1,
    }
    assert rows[0].detail["until"] == "2026-05-04T11:39:00+00:00"


def test_the_admin_login_page_is_throttled_too(client, carol, throttle_clock):
    for _ in range(10):
        client.post("/admin/login/", {"username": "carol", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "carol", "password": "carol-password"})
    assert "Too many failed sign-ins for this account" in response.content.decode()
    assert signed_in_as(client) is None


def test_an_unreachable_cache_lets_sign_ins_through_and_says_so_in_the_log(
    client, alice, settings, caplog
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    assert sign_in(client, "alice", "wrong").status_code == 200
    assert sign_in(client, "alice", "alice-password").status_code == 302
    assert "throttles skipped: the cache is unreachable (ConnectionError)" in caplog.text


def test_the_wait_is_never_longer_than_the_configured_longest(settings, db, throttle_clock):
    settings.PORTAL_THROTTLE_MAX_WAIT_SECONDS = 300
    waits = []
    for _ in range(6):
        for _ in range(10):
            engaged = throttling.record_failure(Kind.SIGNIN_ACCOUNT, "mallory")
        waits.append((engaged.until - throttle_clock()).total_seconds())
        throttle_clock.advance(seconds=waits[-1])
    assert waits == [60, 120, 240, 300, 300, 300]


@pytest.mark.parametrize(
    ("address", "forwarded", "trusted", "counted_as"),
    [
        ("10.0.0.1", "203.0.113.7", False, "10.0.0.1"),  # no proxy: the header is a claim
        ("10.0.0.1", "198.51.100.1, 203.0.113.7", True, "203.0.113.7"),  # the proxy's hop
        ("10.0.0.1", "", True, "10.0.0.1"),
    ],
)
def test_the_client_address_is_x_forwarded_for_s_last_hop_only_behind_a_trusted_proxy(
    client, alice, settings, throttle_clock, address, forwarded, trusted, counted_as
):
    settings.PORTAL_TRUSTED_PROXY = trusted
    for n in range(30):
        client.post(
            "/login/",
            {"username": f"user{n}", "password": "wrong"},
            REMOTE_ADDR=address,
            HTTP_X_FORWARDED_FOR=forwarded,
        )
    assert throttling.engaged(Kind.SIGNIN_ADDRESS, counted_as) is not None


def test_a_failed_sign_in_keeps_the_username_typed(client, alice):
    page = sign_in(client, "alice", "wrong password").content.decode()
    assert 'id="id_username" value="alice"' in page
