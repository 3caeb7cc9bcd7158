"""Who may use which view: a persona-by-view matrix, GET and POST, over every URL the
resolver knows (but the admin, static files and the favicon, health and login/logout).

A URL name without a row in VIEWS fails the test, so a new view cannot be forgotten.
Pages are read by everyone signed in; anonymous visitors go to the login page. An
action acts for the people in its row and answers everyone else 403 (405 for the
wrong method, the login page when signed out) with nothing changed in the database.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import transaction
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts import throttling
from accounts.throttling import Kind
from api.models import ApiToken
from api.tokens import issue_personal_token
from audit.models import AuditEvent
from catalog.models import ChecklistPhase, ChecklistTemplate, CheckMode, Environment
from deployments import engine
from deployments.engine.claims import claim_next_step
from deployments.models import Approval, ChecklistItem, Deployment, Lane, Notification, Step
from deployments.states import ChecklistState, DeploymentState, Trigger
from releases.models import Release
from releases.states import ReleaseState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.personas import PERSONAS as ROLES
from tests.harness.personas import make_persona

PERSONAS = ("alice", "bob", "carol", "oscar", "anonymous")  # engineer, lead, admin, no group
SIGNED_IN = frozenset({"alice", "bob", "carol", "oscar"})
DEPLOYERS = frozenset({"alice", "bob", "carol"})
LEADS = frozenset({"bob", "carol"})  # a lead and an admin

# The API's docs page is public, like its document; the API itself (namespace "api")
# authenticates by token, not by session, and has its own matrix in tests/api.
EXCLUDED_NAMES = {"health", "health-ready", "login", "logout", "api-docs", "api-unknown", "favicon"}
EXCLUDED_NAMESPACES = {"admin", "api"}


@dataclass(frozen=True)
class View:
    """One URL: a page (GET) or an action (POST), how to reach it in the world, and for
    an action who may use it and what it does."""

    url: Callable[[SimpleNamespace], str]
    query: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    allowed: frozenset = frozenset()  # actions only: who may; pages: everyone signed in
    readers: frozenset | None = None  # a page only some may read (others: 403); None: all
    done: Callable[[SimpleNamespace, object], bool] | None = None  # actions only
    answers: int = 302  # what an allowed action answers
    stream: bool = False  # a live stream: 403 (never a redirect) when signed out

    @property
    def is_action(self) -> bool:
        return self.done is not None


def page(url, readers=None, **query) -> View:
    return View(url=url, query=query, readers=frozenset(readers) if readers else None)


def stream(url, **query) -> View:
    return View(url=url, query=query, stream=True)


def action(url, allowed, done, answers=302, **data) -> View:
    return View(url=url, data=data, allowed=frozenset(allowed), done=done, answers=answers)


def deployment_url(name, of):
    return lambda w: reverse(name, args=[getattr(w, of).pk])


def item_url(name):
    return lambda w: reverse(name, args=[w.checking.pk, w.review_item.pk])


def service_url(name, *args):
    return lambda w: reverse(name, args=["web", *args])


def release_url(name):
    return lambda w: reverse(name, args=["web", w.build.version])


VIEWS: dict[str, View] = {
    # --- pages ---
    "dashboard": page(lambda w: reverse("dashboard")),
    "tokens": page(lambda w: reverse("tokens")),
    "token-create": action(
        lambda w: reverse("token-create"), DEPLOYERS,
        lambda w, user: ApiToken.objects.filter(user=user, name="script").exists(),
        name="script", expires_in_days="30",
    ),  # redirects to "token-created", which shows the secret once and forgets it
    "token-created": page(lambda w: reverse("token-created")),
    "token-revoke": action(
        lambda w: reverse("token-revoke", args=[w.token.pk]), {"carol"},
        lambda w, user: ApiToken.objects.get(pk=w.token.pk).revoked_by == user,
    ),  # its owner (erin) or an admin
    "throttles": page(lambda w: reverse("throttles"), readers={"carol"}),
    "messages": page(lambda w: reverse("messages"), readers={"carol"}),  # admins only
    "throttle-lift": action(
        lambda w: reverse("throttle-lift"), {"carol"},
        lambda w, user: throttling.engaged(Kind.SIGNIN_ACCOUNT, "mallory") is None,
        kind="signin-account", subject="mallory",
    ),  # admins only
    "service-detail": page(service_url("service-detail")),
    "service-promote-confirm": page(
        service_url("service-promote-confirm", "production"), version="1.0.0"
    ),
    "service-rollback-confirm": page(
        service_url("service-rollback-confirm"), environment="development", version="0.9.0"
    ),
    "deployment-detail": page(deployment_url("deployment-detail", "waiting")),
    "deployment-log": page(deployment_url("deployment-log", "waiting"), before="2"),
    "deployment-sections": page(deployment_url("deployment-sections", "waiting")),
    "release-detail": page(release_url("release-detail")),
    "release-log": page(release_url("release-log"), before="2"),
    "release-sections": page(release_url("release-sections")),
    "environment-timeline": page(
        lambda w: reverse("environment-timeline", args=["production"]), person="bob"
    ),
    # --- live streams (server-sent events) ---
    "deployment-events": stream(deployment_url("deployment-events", "waiting")),
    "lanes-events": stream(lambda w: reverse("lanes-events"), lane=[]),
    "release-events": stream(release_url("release-events")),
    # --- actions of the service page ---
    "service-promote": action(
        service_url("service-promote", "development"), DEPLOYERS,
        lambda w, user: Deployment.objects.filter(
            release__version="1.2.0", environment__name="development", requested_by=user
        ).exists(),
        version="1.2.0",  # newer than what runs there: an older one is a rollback (issue 22)
    ),
    "service-rollback": action(
        service_url("service-rollback"), DEPLOYERS,
        lambda w, user: Deployment.objects.filter(
            trigger=Trigger.ROLLBACK, release__version="0.9.0", requested_by=user
        ).exists(),
        environment="development", version="0.9.0",
    ),
    "service-break-glass": action(
        service_url("service-break-glass", "production"), LEADS,
        lambda w, user: Deployment.objects.filter(
            trigger=Trigger.BREAK_GLASS, environment__name="production", requested_by=user
        ).exists(),
        version="1.1.0", reason="checkout is down",
    ),
    "environment-lock": action(
        service_url("environment-lock", "staging"), LEADS,
        lambda w, user: Environment.objects.filter(name="staging", locked_by=user).exists(),
        reason="incident INC-42",
    ),
    "environment-unlock": action(
        service_url("environment-unlock", "sandbox"), LEADS,
        lambda w, user: not Environment.objects.get(name="sandbox").locked,
    ),
    "service-build": action(
        service_url("service-build"), DEPLOYERS,
        lambda w, user: Release.objects.filter(
            version="3.0.0", state=ReleaseState.BUILDING, created_by=user
        ).exists(),
        version="3.0.0", git_ref="main",
    ),
    # --- actions of the release page ---
    "release-cancel": action(
        release_url("release-cancel"), LEADS,  # and erin, who asked for the build
        lambda w, user: Release.objects.get(pk=w.build.pk).state == ReleaseState.FAILED,
    ),
    # --- actions of the deployment page ---
    "deployment-decide": action(
        deployment_url("deployment-decide", "waiting"), LEADS,
        lambda w, user: Approval.objects.filter(deployment=w.waiting, user=user).exists(),
        decision="approve", comment="go",
    ),
    "deployment-cancel": action(
        deployment_url("deployment-cancel", "waiting"), LEADS,
        lambda w, user: Deployment.objects.get(pk=w.waiting.pk).cancel_requested,
    ),
    "deployment-review": action(
        deployment_url("deployment-review", "glass"), LEADS,
        lambda w, user: Deployment.objects.get(pk=w.glass.pk).break_glass_reviewed_by == user,
        note="checked the diff",
    ),
    "checklist-answer": action(
        item_url("checklist-answer"), LEADS,
        lambda w, user: ChecklistItem.objects.filter(
            pk=w.review_item.pk, state=ChecklistState.PASSED, answered_by=user
        ).exists(),
        answer="passed", note="diff reviewed",
    ),
    "checklist-check-again": action(
        deployment_url("checklist-check-again", "checking"), DEPLOYERS,
        lambda w, user: AuditEvent.objects.filter(
            action="checklist.check_again", actor=user
        ).exists(),
    ),
    "checklist-waive": action(
        item_url("checklist-waive"), LEADS,
        lambda w, user: ChecklistItem.objects.filter(
            pk=w.review_item.pk, state=ChecklistState.WAIVED, answered_by=user
        ).exists(),
        reason="reviewed in the PR",
    ),
}  # fmt: skip


def routed_names() -> set[str]:
    """Every named URL of the portal's own views, read from the resolver."""
    names, nameless = set(), []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace not in EXCLUDED_NAMESPACES:
                    walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and not _serves_static(pattern):
                if pattern.name is None:
                    nameless.append(str(pattern.pattern))
                elif pattern.name not in EXCLUDED_NAMES:
                    names.add(pattern.name)

    walk(get_resolver().url_patterns)
    assert not nameless, f"give these URLs a name and a row in VIEWS: {nameless}"
    return names


def _serves_static(pattern: URLPattern) -> bool:
    module = getattr(pattern.callback, "__module__", "")
    return module.startswith(("django.views.static", "django.contrib.staticfiles"))


def test_every_routed_view_has_a_row_in_the_matrix():
    routed = routed_names()
    assert routed - VIEWS.keys() == set(), "new views: add a row to VIEWS for each"
    assert VIEWS.keys() - routed == set(), "rows for views that no longer exist"


# --- the world every cell starts from ----------------------------------------------


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """The world, made once for the module inside a transaction rolled back at its end;
    each test runs in a savepoint of it (the `db` fixture), so no test sees another's
    changes (about 0.3 s a test less, over some 350 tests)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        ids = make_world(*(make_persona(name, ROLES[name]) for name in SIGNED_IN_ORDER))
    yield ids
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


SIGNED_IN_ORDER = ("alice", "bob", "carol", "oscar")


@pytest.fixture
def world(shared_world, db):
    """The shared world read afresh (a test may have changed the objects it was given)."""
    for _ in range(10):  # mallory's sign-ins are throttled: admins may lift it (the cache
        throttling.record_failure(Kind.SIGNIN_ACCOUNT, "mallory")  # is emptied per test)
    get = {"waiting": Deployment, "checking": Deployment, "glass": Deployment,
           "build": Release, "review_item": ChecklistItem, "token": ApiToken}  # fmt: skip
    return SimpleNamespace(
        **{name: model.objects.get(pk=shared_world[name]) for name, model in get.items()},
        users={
            name: User.objects.get(pk=pk) if pk else None
            for name, pk in shared_world["users"].items()
        },
    )


@pytest.fixture
def alice(world):
    return world.users["alice"]


@pytest.fixture
def bob(world):
    return world.users["bob"]


@pytest.fixture
def carol(world):
    return world.users["carol"]


@pytest.fixture
def oscar(world):
    return world.users["oscar"]


def make_world(alice, bob, carol, oscar) -> dict:
    """web with releases 0.9.0, 1.0.0 (ran in development and staging), 1.1.0 (runs
    in development), 1.2.0 (ready) and 2.0.0 (building, for erin); a staging deployment of 1.1.0
    waiting for approval, a production one of 1.0.0 waiting for its checklist, a
    break-glass to review, all requested by people outside the matrix; sandbox locked."""
    erin, dave = make_persona("erin", "engineer"), make_persona("dave", "lead")
    web = make_service("web")
    web.repository, web.dockerfile = "/srv/git/web", "Dockerfile"  # so the portal builds it
    web.save()
    development = make_environment("development")
    staging = make_environment("staging", promotes_from=development, required_approvals=1)
    production = make_environment("production", promotes_from=staging, required_approvals=1)
    template = ChecklistTemplate.objects.create(name="production-checklist")
    template.items.create(
        position=1, phase=ChecklistPhase.PRE, mode=CheckMode.MANUAL, text="Review changes"
    )
    production.checklist_template = template
    production.save()
    make_environment(
        "sandbox", locked=True, lock_reason="db upgrade", locked_by=dave, locked_at=timezone.now()
    )
    older, current = make_release(web, "0.9.0"), make_release(web, "1.0.0")
    newer = make_release(web, "1.1.0")
    make_release(web, "1.2.0")  # ready, never deployed: what Promote sends to development
    for release in (older, current, newer):  # 1.1.0 runs in development; the others ran before
        make_deployment(
            release, development, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
        )
    make_deployment(current, staging, state=DeploymentState.SUCCEEDED, finished_at=timezone.now())
    waiting = engine.promote(erin, "web", "1.1.0", "staging")
    checking = engine.promote(erin, "web", "1.0.0", "production")
    for deployment in (waiting, checking):
        assert claim_next_step(deployment.pk, "w") is None  # parked for people
    glass = engine.break_glass(dave, "web", "1.0.0", "development", "site down")
    ChecklistItem.objects.create(
        deployment=checking,
        position=9,
        phase=ChecklistPhase.PRE,
        mode=CheckMode.AUTOMATIC,
        text="All tests passing",
        check_kind="tests_passed",
        state=ChecklistState.FAILED,
        evidence="CI reported commit 0123456 failed.",
    )  # a check that holds it: anyone who deploys may ask for it again
    build = Release.objects.create(
        service=web, version="2.0.0", git_ref="main", state=ReleaseState.BUILDING, created_by=erin
    )  # waiting for a build slot: erin asked for it
    return {
        "waiting": waiting.pk, "checking": checking.pk, "glass": glass.pk, "build": build.pk,
        "review_item": checking.checklist.get(text="Review changes").pk,
        "token": issue_personal_token(erin, "erin's script", 30)[0].pk,
        "users": {"alice": alice.pk, "bob": bob.pk, "carol": carol.pk, "oscar": oscar.pk,
                  "anonymous": None},
    }  # fmt: skip


SNAPSHOT_MODELS = (
    Deployment, Step, Approval, ChecklistItem, Environment, Release, Lane, Notification, AuditEvent,
)  # fmt: skip


def snapshot() -> dict:
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in SNAPSHOT_MODELS}


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.url.startswith(resolve_url(settings.LOGIN_URL))


# --- the matrix ----------------------------------------------------------------------


CELLS = [
    pytest.param(name, persona, method, id=f"{name}-{persona}-{method}")
    for name in sorted(routed_names() | VIEWS.keys())
    for persona in PERSONAS
    for method in ("GET", "POST")
]


@pytest.mark.parametrize(("name", "persona", "method"), CELLS)
def test_matrix(client, world, name, persona, method):
    assert name in VIEWS, f"{name} has no row in VIEWS: say who may use it"
    view, user = VIEWS[name], world.users[persona]
    if user is not None:
        client.force_login(user)
    url = view.url(world)
    query = view.query | ({"lane": [world.waiting.lane_id]} if name == "lanes-events" else {})
    before = snapshot()
    send = client.get if method == "GET" else client.post
    response = send(url, query if method == "GET" else view.data)
    acts = view.is_action and method == "POST" and persona in view.allowed
    if acts:
        assert response.status_code == view.answers and not is_login_redirect(response), (
            f"{persona} may {name}: expected a redirect back, got {response.status_code} "
            f"{_message(response)}"
        )
        assert view.done(world, user), f"{persona}'s {name} answered 302 but did nothing"
        return
    if view.is_action != (method == "POST"):
        expected = "405"
        assert response.status_code == 405, f"{name} takes no {method}"
    elif view.stream and persona == "anonymous":
        expected = "403"
        assert response.status_code == 403, "a stream refuses, never redirects or hangs"
    elif view.stream:
        expected = "an event stream"
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        # Not read here (the test client cannot stream): tests/live reads them over uvicorn.
    elif persona == "anonymous":
        expected = "the login page"
        assert is_login_redirect(response), f"{response.status_code} {_message(response)}"
    elif view.is_action or (view.readers is not None and persona not in view.readers):
        expected = "403"
        assert response.status_code == 403, f"{response.status_code} {_message(response)}"
        assert response.context["reason"], "a refusal says why"
    else:
        expected = "200"
        assert response.status_code == 200, f"{response.status_code} {_message(response)}"
    assert snapshot() == before, f"{persona} {method} {name} ({expected}) changed the database"


def _message(response) -> str:
    context = getattr(response, "context", None)
    if context is not None and "reason" in context:
        return str(context["reason"])
    return response.content[:300].decode(errors="replace")


# --- bad input through the pages -----------------------------------------------------


def posted(client, user, name: str, world, **data):
    """POST the row's form as `user`, with `data` in place of its own fields."""
    client.force_login(user)
    view = VIEWS[name]
    return client.post(view.url(world), {**view.data, **data})


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_form_posted_twice_does_one_action(client, world, bob):
    # Two approvals needed: after bob's the gate still waits, so his second post is his.
    Environment.objects.filter(name="staging").update(required_approvals=2)
    first = posted(client, bob, "deployment-decide", world)
    second = posted(client, bob, "deployment-decide", world)
    assert first.status_code == second.status_code == 302
    assert flashed(second)[-1] == (
        f"bob has already decided on #{world.waiting.pk}; one person counts once."
    )
    assert Approval.objects.filter(deployment=world.waiting).count() == 1


def test_the_second_tab_answering_an_item_is_told_who_answered(client, world, bob, carol):
    posted(client, bob, "checklist-answer", world)
    before = snapshot()
    client.force_login(carol)
    view = VIEWS["checklist-waive"]
    response = client.post(view.url(world), view.data, HTTP_HX_REQUEST="true")
    assert response.status_code == 409, "htmx swaps the refusal into the checklist"
    assert "was passed already by bob" in response.content.decode()
    assert snapshot() == before


def test_a_stale_page_on_a_deployment_that_moved_on_changes_nothing(client, world, bob):
    engine.cancel(bob, world.waiting.pk)
    claim_next_step(world.waiting.pk, "w")
    before = snapshot()
    response = posted(client, bob, "deployment-decide", world)
    assert response.status_code == 302
    assert flashed(response) == [
        f"Deployment #{world.waiting.pk} is not waiting for approval (Cancelled by bob.)."
    ]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "field", "message"),
    [
        ("checklist-waive", "reason", "Say why “Review changes” may be waived"),
        ("service-break-glass", "reason", "Break-glass needs a written reason"),
        ("environment-lock", "reason", "Say why you lock it"),
        ("deployment-review", "note", "Write what you checked"),
    ],
    ids=["waiver", "break-glass", "lock", "review"],
)
def test_an_action_without_its_reason_is_refused_with_what_to_do(
    client, world, carol, name, field, message
):
    before = snapshot()
    response = posted(client, carol, name, world, **{field: "  "})
    assert response.status_code == 302 and not is_login_redirect(response)
    assert len(flashed(response)) == 1 and flashed(response)[0].startswith(message)
    assert snapshot() == before


def test_a_rejection_without_a_comment_is_refused_with_what_to_do(client, world, bob):
    before = snapshot()
    response = posted(client, bob, "deployment-decide", world, decision="reject", comment="")
    assert flashed(response) == ["Say why you reject it: the requester reads your comment."]
    assert snapshot() == before
