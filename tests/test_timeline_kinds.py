"""The environment timeline's read model, kind by kind: every action the engine
records in an environment appears, in words and with a symbol, linked to its
deployment; the kind filter and the kinds shown agree on every row."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from catalog.models import Environment
from deployments import engine
from deployments.engine.claims import claim_next_step
from deployments.models import Deployment
from tests.harness.personas import make_persona
from tests.timeline_world import (
    item,
    make_path,
    page_of,
    past_the_checklist,
    promoted_through_the_gates,
    run_steps,
)
from web.timeline_kinds import EntryKind, kind_filter, kinds_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return make_path()


@pytest.fixture
def dave(db):
    return make_persona("dave", "lead")


def entries(environment, query: str = ""):
    return page_of(environment, query).entries


def said(environment, query: str = "") -> list[tuple[str, str]]:
    """(label, sentence) of each entry, oldest first, as a person reads down the day."""
    return [(entry.label, entry.sentence) for entry in reversed(entries(environment, query))]


def notes_of(entry) -> dict[str, str]:
    return {note.label: note.text for note in entry.notes}


def entry_saying(environment, sentence: str):
    return next(e for e in entries(environment) if e.sentence == sentence)


def test_a_promotion_reads_from_request_to_verification_in_order(world, alice, bob):
    deployment = promoted_through_the_gates(alice, bob)
    assert said(world.production, "steps=shown") == [
        ("requested", "alice requested a promotion"),
        ("passed", "The portal checked “Build Docker images”: passed"),
        ("waiting", "Waiting for the pre-deployment checklist"),
        ("passed", "bob answered “Review changes”: passed"),
        ("succeeded", "Pre-deployment checks: succeeded"),
        ("approval asked", "Waiting for approval"),
        ("approved", "bob approved it"),
        ("succeeded", "Approval: succeeded"),
        ("queued", "Queued: it starts when no other deployment of this service runs here"),
        ("started", "Started: other deployments of this service here wait until it ends"),
        ("started", "Roll out: started (attempt 1)"),
        ("succeeded", "Roll out: succeeded"),
        ("succeeded", "Ended: succeeded"),
        ("verification open", "Post-deployment verification: verification open"),
        ("passed", "bob answered “Test critical user flows”: passed"),
        ("verified", "Post-deployment verification: verified"),
    ]
    assert {entry.deployment.pk for entry in entries(world.production)} == {deployment.pk}


def test_every_entry_of_a_deployment_links_to_it_on_the_page(world, alice, bob, client):
    deployment = promoted_through_the_gates(alice, bob)
    client.force_login(alice)
    url = f"/environments/{world.production.name}/timeline/?steps=shown"
    html = client.get(url).content.decode()
    rows = re.findall(r'<li class="entry [^"]*" id="entry-\d+".*?</li>', html, re.S)
    assert len(rows) == AuditEvent.objects.filter(environment=world.production).count() == 16
    link = f'<a href="/deployments/{deployment.pk}/">#{deployment.pk} web 1.1.0</a>'
    assert all(link in row for row in rows)


def test_a_deployment_that_fails_says_so_with_the_reason(world, bob):
    deployment = engine.break_glass(bob, "web", "1.1.0", "production", "web is down")
    past_the_checklist(bob, deployment)
    run_steps(deployment, ok=False, reason="rollout timed out after 5m")
    ended = entry_saying(world.production, "Ended: failed")
    assert (ended.label, ended.symbol, ended.tone) == ("failed", "✗", "failed")
    assert notes_of(ended) == {"Reason": "rollout timed out after 5m"}
    step = entry_saying(world.production, "Roll out: failed")
    assert notes_of(step) == {"Reason": "rollout timed out after 5m"}


def test_an_approval_and_a_rejection_keep_their_comments(world, alice, bob, dave):
    Environment.objects.filter(pk=world.production.pk).update(required_approvals=2)
    deployment = engine.promote(alice, "web", "1.1.0", "production")
    claim_next_step(deployment.pk, "w")
    engine.answer_item(bob, item(deployment, "Review changes").pk, "passed")
    engine.decide(bob, deployment.pk, "approve", "looks right")
    engine.decide(dave, deployment.pk, "reject", "not during the sale")
    approval = entry_saying(world.production, "bob approved it")
    rejection = entry_saying(world.production, "dave rejected it")
    ending = entry_saying(world.production, "Ended: rejected")
    assert (approval.kind, approval.symbol, notes_of(approval)) == (
        EntryKind.APPROVAL, "✓", {"Comment": "looks right"},
    )  # fmt: skip
    assert (rejection.kind, rejection.label, notes_of(rejection)) == (
        EntryKind.APPROVAL, "rejected", {"Comment": "not during the sale"},
    )  # fmt: skip
    assert ending.kinds == {EntryKind.DEPLOYMENT}
    assert notes_of(ending) == {"Reason": "Rejected by dave: not during the sale"}


def test_checklist_answers_waivers_and_automatic_checks_keep_their_evidence(world, alice, bob):
    deployment = engine.promote(alice, "web", "1.1.0", "production")
    claim_next_step(deployment.pk, "w")
    engine.waive_item(bob, item(deployment, "Review changes").pk, "reviewed in PR #12")
    waiver = entry_saying(world.production, "bob waived “Review changes”")
    check = entry_saying(world.production, "The portal checked “Build Docker images”: passed")
    assert (waiver.label, waiver.symbol, notes_of(waiver)) == (
        "waived", "⤼", {"Reason": "reviewed in PR #12"},
    )  # fmt: skip
    assert (check.actor, notes_of(check)) == ("the portal", {"Evidence": "Release 1.1.0 is ready."})
    assert {waiver.kind, check.kind} == {EntryKind.CHECKLIST}


def test_a_failed_verification_reads_as_failed(world, alice, bob):
    deployment = engine.promote(alice, "web", "1.1.0", "production")
    claim_next_step(deployment.pk, "w")
    engine.answer_item(bob, item(deployment, "Review changes").pk, "passed")
    engine.decide(bob, deployment.pk, "approve")
    run_steps(deployment)
    engine.answer_item(bob, item(deployment, "Test critical user flows").pk, "failed", "500s")
    failed = entry_saying(world.production, "Post-deployment verification: verification failed")
    assert (failed.symbol, failed.kind, notes_of(failed)) == (
        "✗", EntryKind.VERIFICATION, {"Before": "verification open"},
    )  # fmt: skip
    answer = entry_saying(world.production, "bob answered “Test critical user flows”: failed")
    assert answer.kinds == {EntryKind.CHECKLIST, EntryKind.VERIFICATION}
    assert notes_of(answer) == {"Evidence": "500s"}


def test_a_manual_rollback_says_what_it_rolls_back(world, alice, bob):
    promoted = promoted_through_the_gates(alice, bob)
    rollback = engine.request_rollback("web", "production", to_version="1.0.0", actor=alice)
    run_steps(rollback)
    requested = entry_saying(world.production, "alice requested a rollback")
    assert (requested.kind, requested.symbol, requested.deployment) == (
        EntryKind.ROLLBACK, "↩", rollback,
    )  # fmt: skip
    assert notes_of(requested)["Rolls back"] == f"#{promoted.pk}"
    ended = next(e for e in entries(world.production) if e.deployment == rollback)
    assert (ended.sentence, ended.kinds) == (
        "Ended: succeeded", {EntryKind.ROLLBACK, EntryKind.DEPLOYMENT},
    )  # fmt: skip


def test_a_migration_and_an_automatic_rollback_read_in_words(world, alice, bob):
    deployment = past_the_checklist(bob, engine.promote(alice, "api", "1.1.0", "production"))
    engine.decide(bob, deployment.pk, "approve")
    # What the rollout step reads from the cluster first, so the failure rolls back.
    Deployment.objects.filter(pk=deployment.pk).update(
        previous_images={"vizora-api": {"api": "ghcr.io/your-org/vizora-api:1.0.0"}}
    )
    run_steps(deployment, reason="GET /health answered 500", fail="smoke")
    migration = [e for e in entries(world.production) if e.kind == EntryKind.MIGRATION]
    assert [(e.label, e.sentence) for e in reversed(migration)] == [
        ("started", "Run database migrations: started (attempt 1)"),
        ("succeeded", "Run database migrations: succeeded"),
    ]
    rollback = [e for e in entries(world.production, "kind=rollback")]
    assert [(e.label, e.symbol, e.sentence) for e in reversed(rollback)] == [
        ("rolling back", "↩", "Rolling back automatically"),
        ("started", "▶", "Roll back: started (attempt 1)"),
        ("succeeded", "✓", "Roll back: succeeded"),
        ("rolled back", "↩", "Ended: rolled back"),
    ]
    assert notes_of(rollback[2]) == {"Worker": "worker-1"}  # who ran it, beside the sentence
    assert notes_of(rollback[0]) == {"Reason": "GET /health answered 500; rolled back to 1.0.0."}
    assert notes_of(rollback[-1]) == {"Why": "GET /health answered 500"}
    assert {e.deployment for e in migration + rollback} == {deployment}


def test_locks_and_unlocks_say_who_and_why(world, bob, carol):
    engine.lock(bob, "production", "incident INC-7")
    engine.unlock(carol, "production")
    locked = entry_saying(world.production, "bob locked production")
    unlocked = entry_saying(world.production, "carol unlocked production")
    assert (locked.label, locked.symbol, locked.deployment) == ("locked", "⊘", None)
    assert notes_of(locked) == {"Reason": "incident INC-7"}
    assert notes_of(unlocked) == {"It was locked for": "incident INC-7"}
    assert {locked.kind, unlocked.kind} == {EntryKind.LOCK}
    assert entries(world.staging) == [], "a lock of production is not staging's"


def test_a_break_glass_deployment_and_its_review(world, bob, dave):
    deployment = engine.break_glass(bob, "api", "1.1.0", "production", "checkout is down")
    run_steps(past_the_checklist(bob, deployment))
    engine.review_break_glass(dave, deployment.pk, "checked the diff, fine")
    requested = entry_saying(world.production, "bob requested a break-glass deployment")
    review = entry_saying(world.production, "dave reviewed the break-glass deployment")
    assert (requested.kind, requested.symbol, requested.label) == (
        EntryKind.BREAK_GLASS, "⚠", "requested",
    )  # fmt: skip
    assert notes_of(requested)["Break-glass reason"] == "checkout is down"
    assert (review.kind, review.deployment, notes_of(review)) == (
        EntryKind.BREAK_GLASS, deployment, {"Review note": "checked the diff, fine"},
    )  # fmt: skip


def test_a_cancellation_says_who_asked(world, alice, bob):
    deployment = engine.promote(alice, "web", "1.1.0", "production")
    engine.cancel(bob, deployment.pk)
    claim_next_step(deployment.pk, "w")
    asked = entry_saying(world.production, "bob asked to cancel it")
    ended = entry_saying(world.production, "Ended: cancelled (bob)")
    assert (asked.kind, ended.kind) == (EntryKind.DEPLOYMENT, EntryKind.DEPLOYMENT)
    assert notes_of(ended) == {"Reason": "Cancelled by bob."}


def test_freeze_windows_begin_and_end_on_the_timeline(world, alice):
    now = timezone.now().replace(microsecond=0)
    began, ends = now - timedelta(hours=1), now + timedelta(hours=2)
    earlier = {"name": "earlier", "from": _iso(now - timedelta(hours=5)),
               "to": _iso(now - timedelta(hours=4)), "timezone": "UTC"}  # fmt: skip
    window = {"name": "release-day", "from": _iso(began), "to": _iso(ends), "timezone": "UTC"}
    Environment.objects.filter(pk=world.production.pk).update(freeze_windows=[earlier, window])
    _backdate(trail.record("deployment.note", environment=world.production), hours=6)
    production = Environment.objects.get(pk=world.production.pk)
    page = page_of(production)
    assert said(production) == [
        ("recorded", "the portal: deployment.note"),
        ("freeze began", f"Freeze 'earlier' ({earlier['from']} → {earlier['to']} UTC) began"),
        ("freeze ended", f"Freeze 'earlier' ({earlier['from']} → {earlier['to']} UTC) ended"),
        ("freeze began", f"Freeze 'release-day' ({window['from']} → {window['to']} UTC) began"),
    ], "a freeze that has not ended yet has no end entry"
    assert page.entries[0].at == began and page.entries[0].symbol == "❄"
    assert (page.freeze.window["name"], page.freeze.ends_at) == ("release-day", ends)


def test_a_weekly_freeze_repeats_in_its_time_zone(world):
    weekend = {"name": "weekend", "from": "fri 16:00", "to": "mon 08:00",
               "timezone": "Europe/London"}  # fmt: skip
    Environment.objects.filter(pk=world.production.pk).update(freeze_windows=[weekend])
    _backdate(trail.record("deployment.note", environment=world.production), days=15)
    production = Environment.objects.get(pk=world.production.pk)
    freezes = [e for e in entries(production) if e.kind == EntryKind.FREEZE]
    assert len(freezes) in (4, 5, 6), "two or three weekends in fifteen days"
    for entry in freezes:
        local = timezone.localtime(entry.at, timezone=_london())
        expected = (4, 16) if entry.label == "freeze began" else (0, 8)
        assert (local.weekday(), local.hour, local.minute) == (*expected, 0)


def test_drift_and_unknown_actions_still_appear(world):
    deployment = Deployment.objects.get(environment=world.production)
    drift = [{"workload": "vizora-web", "container": "web", "running": "web:hotfix",
              "deployed": "web:1.0.0", "deployment": deployment.pk}]  # fmt: skip
    trail.record("deployment.drift_detected", deployment=deployment, drift=drift)
    trail.record("environment.resized", environment=world.production, nodes=3, target="x")
    noticed = entry_saying(
        world.production, "Drift noticed at the rollout: the cluster ran something else"
    )
    assert (noticed.kind, noticed.symbol) == (EntryKind.DRIFT, "≠")
    expected = f"ran web:hotfix, but the portal last deployed web:1.0.0 (#{deployment.pk})"
    assert notes_of(noticed) == {"vizora-web/web": expected}
    unknown = entry_saying(world.production, "the portal: environment.resized x")
    assert (unknown.kind, notes_of(unknown)) == (EntryKind.OTHER, {"nodes": "3"})


def test_the_kind_filter_and_the_kinds_shown_agree_on_every_row(world, alice, bob, dave):
    promoted_through_the_gates(alice, bob)
    glass = engine.break_glass(bob, "api", "1.1.0", "production", "down")
    # What the rollout step reads from the cluster first, so the failure rolls back.
    Deployment.objects.filter(pk=glass.pk).update(previous_images={"vizora-api": {"api": "1.0"}})
    run_steps(past_the_checklist(bob, glass), reason="smoke failed", fail="smoke")
    assert Deployment.objects.get(pk=glass.pk).state == "rolled_back"
    engine.review_break_glass(dave, glass.pk, "ok")
    engine.request_rollback("web", "production", to_version="1.0.0", actor=alice)
    engine.lock(bob, "production", "incident")
    trail.record("deployment.drift_detected", deployment=glass, drift=[])
    trail.record("environment.resized", environment=world.production)
    rows = AuditEvent.objects.filter(environment=world.production).select_related("deployment")
    for kind in EntryKind.values:
        filtered = set(
            AuditEvent.objects.filter(environment=world.production)
            .filter(kind_filter({kind}))
            .values_list("pk", flat=True)
        )
        shown = {row.pk for row in rows if kind in kinds_of(row)}
        assert filtered == shown, kind
        assert filtered or kind == EntryKind.FREEZE, f"the world has no {kind} row"


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _backdate(event: AuditEvent, **delta) -> None:
    AuditEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(**delta))


def _london():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/London")
