"""Freeze windows and environment locks, checked when the lane is claimed."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from catalog.freeze import active_freeze
from deployments.engine import (
    DeploymentRequestError,
    break_glass,
    request_deployment,
    request_rollback,
)
from deployments.engine.claims import claim_next_step
from deployments.states import DeploymentState
from tests.engine.conftest import register
from tests.factories import make_deployment

WEEKEND = {"name": "weekend", "from": "fri 16:00", "to": "mon 08:00", "timezone": "Europe/London"}
ALWAYS = {"name": "always", "from": "mon 00:00", "to": "sun 23:59", "timezone": "UTC"}


@pytest.mark.parametrize(
    ("moment", "frozen"),
    [
        (datetime(2026, 11, 27, 15, 59, tzinfo=UTC), False),  # Friday 15:59 in London
        (datetime(2026, 11, 27, 16, 0, tzinfo=UTC), True),  # Friday 16:00
        (datetime(2026, 11, 29, 12, 0, tzinfo=UTC), True),  # Sunday
        (datetime(2026, 11, 30, 7, 59, tzinfo=UTC), True),  # Monday 07:59
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), False),  # Monday 08:00
        (datetime(2026, 7, 3, 15, 30, tzinfo=UTC), True),  # Friday 16:30 British Summer Time
    ],
)
def test_a_weekly_window_wraps_over_the_weekend_in_its_time_zone(moment, frozen):
    assert (active_freeze([WEEKEND], moment) is not None) is frozen


def test_a_dated_window_covers_its_interval_only():
    window = {"name": "holidays", "from": "2026-12-24T12:00", "to": "2026-12-27T00:00"}
    assert active_freeze([window], datetime(2026, 12, 25, tzinfo=UTC)) == window
    assert active_freeze([window], datetime(2026, 12, 27, tzinfo=UTC)) is None


@pytest.mark.django_db
def test_a_promotion_waits_out_a_freeze_and_a_rollback_goes_through(development, web, alice):
    register(web, "8.0.0")
    for earlier in (register(web, "7.8.0"), register(web, "7.9.0")):  # 7.8.0 ran here before
        make_deployment(
            earlier, development, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
        )
    development.freeze_windows = [ALWAYS]
    development.save()
    promotion = request_deployment("web", "8.0.0", "development")
    assert claim_next_step(promotion.pk, "w") is None
    promotion.refresh_from_db()
    assert promotion.state == DeploymentState.QUEUED
    assert promotion.reason.startswith("Deployment freeze 'always' (mon 00:00 → sun 23:59 UTC)")
    rollback = request_rollback("web", "development", to_version="7.8.0", actor=alice)
    assert claim_next_step(rollback.pk, "w") is not None, "rollbacks go through a freeze"


@pytest.mark.django_db
def test_a_lock_holds_everything_but_break_glass_until_it_is_lifted(development, web, alice, carol):
    register(web, "8.2.0")
    promotion = request_deployment("web", "8.2.0", "development", actor=alice)
    development.locked, development.lock_reason = True, "incident INC-42"  # after the request
    development.save()
    with pytest.raises(DeploymentRequestError, match="development is locked: incident INC-42"):
        request_deployment("web", "8.2.0", "development", actor=alice)  # new ones are refused
    assert claim_next_step(promotion.pk, "w") is None
    promotion.refresh_from_db()
    assert promotion.reason == (
        "Environment development is locked: incident INC-42; it starts once unlocked."
    )
    with pytest.raises(DeploymentRequestError, match="only leads and admins may"):
        break_glass(alice, "web", "8.2.0", "development", "the site is down")
    glass = break_glass(carol, "web", "8.2.0", "development", "the site is down")
    assert claim_next_step(glass.pk, "w") is not None
    development.locked = False
    development.save()
    promotion.refresh_from_db()
    assert promotion.state == DeploymentState.SUPERSEDED  # the newer break-glass took over
