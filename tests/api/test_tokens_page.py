"""Your tokens (a page for every signed-in person) and the admin's CI tokens: the
secret is shown once, only a hash is kept, revocation works at once, and a CI
identity's account can never sign in or act as a person."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from accounts import roles
from api.models import ApiToken, ServiceAccount, TokenKind
from api.tokens import TokenError, hash_token, issue_ci_token
from audit.models import AuditEvent

SECRET = re.compile(r"vzp_[A-Za-z0-9_-]{43}")


def test_the_top_navigation_links_to_your_tokens(client, alice, world):
    client.force_login(alice)
    assert 'href="/tokens/">Your tokens</a>' in client.get("/").content.decode()


def test_a_new_token_is_shown_once_and_then_only_by_its_prefix(client, alice, api, world):
    client.force_login(alice)
    response = client.post("/tokens/new/", {"name": "release script", "expires_in_days": "30"})
    assert response.status_code == 302 and response["Location"] == "/tokens/new/shown/"
    response = client.get(response["Location"])
    page = response.content.decode()
    assert response.status_code == 200 and "only time the portal shows it" in page
    assert "no-store" in response["Cache-Control"] and "Copy token" in page
    secret = SECRET.search(page).group()
    token = ApiToken.objects.get(hashed=hash_token(secret))
    assert (token.kind, token.user, token.name) == (TokenKind.PERSONAL, alice, "release script")
    listing = client.get("/tokens/").content.decode()
    assert secret not in listing and f"{secret[:12]}…" in listing and "release script" in listing
    assert api.get("/environments", secret)[0] == 200
    assert AuditEvent.objects.filter(action="token.issued", actor=alice).count() == 1
    assert not AuditEvent.objects.filter(detail__icontains=secret[12:]).exists()


def test_reloading_the_shown_page_neither_issues_nor_shows_the_secret_again(client, alice, world):
    client.force_login(alice)
    shown = client.post("/tokens/new/", {"name": "ci", "expires_in_days": "30"}, follow=True)
    assert SECRET.search(shown.content.decode())
    reload = client.get("/tokens/new/shown/")
    page = reload.content.decode()
    assert reload.status_code == 200 and SECRET.search(page) is None
    assert "cannot be shown again" in page and "create a new one" in page
    assert ApiToken.objects.filter(user=alice).count() == 1


def test_a_revoke_button_looks_dangerous_and_asks_first(client, alice, tokens):
    client.force_login(alice)
    page = client.get("/tokens/").content.decode()
    assert 'class="secondary">Revoke</button>' in page and 'hx-confirm="Revoke token' in page
    assert 'data-label="Last used"' in page


def test_a_token_without_a_name_is_refused_with_the_form_again(client, alice, world):
    client.force_login(alice)
    response = client.post("/tokens/new/", {"name": "", "expires_in_days": "30"})
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_someone_without_a_role_may_not_create_tokens(client, oscar, world):
    client.force_login(oscar)
    assert "Create a token" not in client.get("/tokens/").content.decode()
    response = client.post("/tokens/new/", {"name": "x", "expires_in_days": "30"})
    assert response.status_code == 403 and "may not hold API tokens" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_takes_effect_at_once(client, alice, api, tokens):
    client.force_login(alice)
    token = ApiToken.objects.get(hashed=hash_token(tokens.engineer))
    response = client.post(f"/tokens/{token.pk}/revoke/", follow=True)
    assert "is revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_by == alice and token.state() == "revoked"
    assert api.get("/environments", tokens.engineer)[0] == 401


def test_nobody_revokes_someone_elses_token(client, bob, tokens):
    client.force_login(bob)
    token = ApiToken.objects.get(hashed=hash_token(tokens.engineer))
    response = client.post(f"/tokens/{token.pk}/revoke/", follow=True)
    assert "that you may revoke" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_page_lists_ci_tokens_for_admins_only(client, carol, alice, tokens):
    client.force_login(carol)
    assert "CI tokens" in client.get("/tokens/").content.decode()
    client.force_login(alice)
    assert "CI tokens" not in client.get("/tokens/").content.decode()


@pytest.fixture
def root(db):
    """The admin pages are for superusers (staff)."""
    from django.contrib.auth.models import User

    return User.objects.create_superuser("root", "root@example.com", "pw")


def test_the_ci_token_form_names_each_scope_as_the_readme_does_under_one_heading(client, root):
    client.force_login(root)
    page = client.get("/admin/tokens/apitoken/add/").content.decode()
    assert page.count("<h1>Issue a CI token</h1>") == 1
    for scope in ("read", "ci:report", "releases:write", "deployments:write"):
        assert f"{scope} — " in page


def test_the_admin_issues_a_ci_token_showing_the_secret_once(client, root, api, world):
    client.force_login(root)
    response = client.post(
        "/admin/tokens/apitoken/add/",
        {"name": "github", "scopes": ["deployments:write", "read"],
         "environments": "staging", "expires_in_days": "365"},
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    secret = SECRET.search(page).group()
    token = ApiToken.objects.get(hashed=hash_token(secret))
    assert (token.kind, token.scopes, token.environments) == (
        TokenKind.CI, ["deployments:write", "read"], ["staging"],
    )  # fmt: skip
    assert SECRET.search(client.get("/admin/tokens/apitoken/").content.decode()) is None
    assert api.get("/environments", secret)[0] == 200


def test_the_admin_refuses_an_unknown_environment_saying_which(client, root, world):
    client.force_login(root)
    response = client.post(
        "/admin/tokens/apitoken/add/",
        {"name": "github", "scopes": ["deployments:write"], "environments": "moon"},
    )
    assert "There is no environment moon" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_admin_revokes_with_an_action(client, root, tokens, api):
    client.force_login(root)
    token = ApiToken.objects.get(hashed=hash_token(tokens.ci_read))
    client.post("/admin/tokens/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_by == root
    assert api.get("/environments", tokens.ci_read)[0] == 401


def test_only_admins_issue_ci_tokens(bob, world):
    with pytest.raises(TokenError, match="bob may not issue CI tokens"):
        issue_ci_token(bob, "github", ["read"], [], 30)


@pytest.mark.parametrize(
    "scopes,environments,says",
    [(["deploy"], [], "Unknown scopes deploy"), ([], [], "needs at least one scope"),
     (["read"], ["staging"], "add that scope or leave them out")],
)  # fmt: skip
def test_ci_scopes_come_from_a_fixed_list(carol, world, scopes, environments, says):
    with pytest.raises(TokenError, match=says):
        issue_ci_token(carol, "github", scopes, environments, 30)


def test_a_ci_identity_cannot_sign_in_and_has_no_role(carol, world):
    issue_ci_token(carol, "github", ["read"], [], 30)
    account = ServiceAccount.objects.get(name="github").user
    assert account.username == "ci-github" and not account.has_usable_password()
    assert authenticate(username="ci-github", password="") is None
    assert roles.roles_of(account) == frozenset() and roles.is_service_account(account)


def test_a_ci_identity_passes_no_persons_rule_even_given_a_role(carol, world, api, tokens):
    """Put in the lead group by mistake, the service account still may not approve,
    answer, waive, break glass, review or lock."""
    from django.contrib.auth.models import Group

    from tests.api.conftest import asking_for_approval

    asking_for_approval(api, tokens.engineer)
    account = ServiceAccount.objects.get(name="github").user
    account.groups.add(Group.objects.get_or_create(name="lead")[0])
    account.api_token = ApiToken.objects.get(hashed=hash_token(tokens.ci_all))
    from deployments.models import ChecklistItem, Deployment

    deployment = Deployment.objects.get(environment=world.production)
    item = ChecklistItem.objects.get()
    assert roles.roles_of(account) == frozenset()
    assert not roles.can_approve(account, deployment)
    assert not roles.can_answer_checklist(account, item)
    assert not roles.can_waive_checklist(account, item)
    assert not roles.can_break_glass(account, world.production)
    assert not roles.can_lock(account, world.production)
    assert not roles.can_rollback(account, world.production)
    assert roles.can_deploy(account, world.production)  # its scope and environment allow it
    assert not roles.can_deploy(account, world.development.__class__(name="qa"))


def test_each_token_says_when_it_was_last_used_or_that_it_never_was(client, alice, api, tokens):
    used = ApiToken.objects.filter(user=alice, revoked_at=None, expires_at__gt=timezone.now())
    assert used.count() == 1  # the engineer's active token (one more expired, one revoked)
    used.update(last_used_at=timezone.now() - timedelta(minutes=3, seconds=5))
    client.force_login(alice)
    page = client.get("/tokens/").content.decode()
    cells = re.findall(r'<td data-label="Last used">(.*?)</td>', page)
    assert len(cells) == 3
    assert sum("Last used 3\xa0minutes ago</time>" in c for c in cells) == 1
    assert cells.count("Never used") == 2


def test_the_admin_lists_when_each_token_was_last_used(admin_client, tokens):
    ApiToken.objects.filter(hashed=hash_token(tokens.ci_read)).update(
        last_used_at=timezone.now() - timedelta(hours=2, minutes=1)
    )
    page = admin_client.get("/admin/tokens/apitoken/").content.decode()
    assert "Last used 2\xa0hours ago" in page
    assert page.count("Never used") == ApiToken.objects.count() - 1


def test_last_used_reads_to_the_minute(tokens):
    token = ApiToken.objects.get(hashed=hash_token(tokens.engineer))
    now = timezone.now()
    assert token.last_used(now) == "Never used"
    token.last_used_at = now - timedelta(seconds=20)
    assert token.last_used(now) == "Last used less than a minute ago"
    token.last_used_at = now - timedelta(days=3, hours=4)
    assert token.last_used(now) == "Last used 3\xa0days ago"
