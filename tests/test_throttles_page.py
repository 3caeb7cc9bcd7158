"""Admins see what is throttled and lift it, on the Sign-in throttles page or with
`manage.py lift_throttle`; everyone else is refused (403), and lifting is audited."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts import throttling
from accounts.throttling import Kind
from audit.models import AuditEvent


def throttle_alice(throttle_clock) -> None:
    anonymous = Client()
    for _ in range(10):
        anonymous.post(
            "/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.0.0.5"
        )
    assert throttling.engaged(Kind.SIGNIN_ACCOUNT, "alice") is not None


def can_sign_in(username: str) -> bool:
    response = Client().post("/login/", {"username": username, "password": f"{username}-password"})
    return response.status_code == 302


def test_an_admin_sees_the_throttled_account_and_lifts_it(client, alice, carol, throttle_clock):
    throttle_alice(throttle_clock)
    client.force_login(carol)
    page = client.get("/throttles/").content.decode()
    assert "Sign-ins to an account" in page and "<code>alice</code>" in page
    assert 'name="subject" value="alice"' in page and "csrfmiddlewaretoken" in page

    response = client.post("/throttles/lift/", {"kind": "signin-account", "subject": "alice"})
    assert response.status_code == 302 and response.url == "/throttles/"
    assert can_sign_in("alice")
    assert "Nothing is throttled now." in client.get("/throttles/").content.decode()
    lifted = AuditEvent.objects.get(action="throttle.lifted")
    assert (lifted.actor, lifted.target, lifted.detail["via"]) == (
        carol,
        "signin-account:alice",
        "page",
    )


def test_the_lift_form_is_csrf_protected(alice, carol, throttle_clock):
    throttle_alice(throttle_clock)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(carol)
    response = browser.post("/throttles/lift/", {"kind": "signin-account", "subject": "alice"})
    assert response.status_code == 403
    assert throttling.engaged(Kind.SIGNIN_ACCOUNT, "alice") is not None


@pytest.mark.parametrize("persona", ["alice", "bob", "oscar"])
def test_everyone_but_an_admin_is_refused_the_page_and_the_lift(
    client, alice, bob, oscar, throttle_clock, persona
):
    throttle_alice(throttle_clock)
    client.force_login({"alice": alice, "bob": bob, "oscar": oscar}[persona])
    page = client.get("/throttles/")
    assert page.status_code == 403
    assert "Only admins see and lift sign-in throttles" in page.content.decode()
    lift = client.post("/throttles/lift/", {"kind": "signin-account", "subject": "alice"})
    assert lift.status_code == 403
    assert throttling.engaged(Kind.SIGNIN_ACCOUNT, "alice") is not None
    assert not AuditEvent.objects.filter(action="throttle.lifted").exists()


def test_a_signed_out_visitor_is_sent_to_the_login_page(client, alice, throttle_clock):
    throttle_alice(throttle_clock)
    assert client.get("/throttles/").url.startswith("/login/")
    assert client.post("/throttles/lift/", {"kind": "signin-account", "subject": "alice"}).url
    assert throttling.engaged(Kind.SIGNIN_ACCOUNT, "alice") is not None


def test_lifting_what_is_no_longer_throttled_says_so(client, carol, throttle_clock):
    client.force_login(carol)
    response = client.post(
        "/throttles/lift/", {"kind": "signin-account", "subject": "alice"}, follow=True
    )
    assert "No sign-ins to an account throttle refuses &#x27;alice&#x27; now." in (
        response.content.decode()
    )
    response = client.post("/throttles/lift/", {"kind": "bogus", "subject": "x"}, follow=True)
    assert "&#x27;bogus&#x27; is not a kind of throttle" in response.content.decode()


def test_admins_find_the_page_in_the_header_of_every_page(client, carol):
    client.force_login(carol)
    for path in ("/", "/tokens/"):
        assert '<a href="/throttles/">Sign-in throttles</a>' in client.get(path).content.decode()


@pytest.mark.parametrize("persona", ["alice", "bob", "oscar"])
def test_only_admins_are_offered_the_page_in_the_header(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert 'href="/throttles/"' not in client.get("/").content.decode()


def test_the_command_lists_and_lifts_a_throttle(alice, throttle_clock, capsys):
    throttle_alice(throttle_clock)
    call_command("lift_throttle", "--list")
    assert "--account alice  until 2026-05-04 11:39:00 UTC" in capsys.readouterr().out
    call_command("lift_throttle", "--account", "ALICE")
    assert capsys.readouterr().out.strip() == "lifted: sign-ins to an account alice"
    assert can_sign_in("alice")
    lifted = AuditEvent.objects.get(action="throttle.lifted")
    assert (lifted.actor, lifted.detail["via"]) == (None, "manage.py lift_throttle")


def test_the_command_refuses_what_is_not_throttled(db, throttle_clock):
    with pytest.raises(CommandError, match="No sign-ins from an address throttle refuses"):
        call_command("lift_throttle", "--address", "10.9.9.9")
