"""The notification outbox: record once inside the engine's transaction, deliver with retries.

Races this module is built around:
- Two transitions (or two workers) announce the same event: the unique
  (deployment, event) constraint keeps one row; the loser gets None.
- The engine's transaction rolls back: the row goes with it, and the enqueue
  (registered with on_commit) never runs, so nothing is announced that did
  not happen.
- The broker is down at commit: the row stays pending and `enqueue_due`
  (called by the sweeper) sends it later.
- Two messages for one row (the scheduled retry and a sweep, or a redelivery
  after a worker died): each try claims the row under a row lock and takes a
  lease in `next_attempt_at`; the loser sees a future `next_attempt_at` and
  drops its message. Writes after the HTTP calls are fenced on `attempts`.
- A channel accepted but another failed: `delivered_to` records each success
  as it happens, so the retry only goes to the channels still owed.
- An earlier event of the deployment is still pending ("started" in back-off
  while "failed" comes): the later row is held, and its next look is recorded
  on it (just after the earlier row's next try), so neither its own message nor
  the sweeper polls it meanwhile; when the earlier row is sent or given up, the
  try that ended it makes the held row due and enqueues it.
"""

import logging
import random
import time
from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from deployments.models import DeliveryAttempt, Deployment, Notification
from deployments.notifications import channels
from deployments.states import NotificationEvent, NotificationState
from portal.masking import mask_json

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600.0
JITTER = 0.1  # ± 10 %, so rows that failed together do not retry in lock-step
# settings.PORTAL_NOTIFY_LEASE_SECONDS: how long a claimed try may take before another
# message may take the row over (a worker that died mid-try), on top of the HTTP
# timeouts. settings.PORTAL_NOTIFY_LOST_AFTER_SECONDS: a pending row younger than
# this with no next_attempt_at has its first enqueue still in flight; the sweeper
# leaves it alone.
SWEEP_BATCH = 500
# A row held behind an older one looks again this long after that one's next try
# (the earlier row's try comes first, and its delivery releases the held row at once).
HOLD_MARGIN = timedelta(seconds=1)
SEND_TASK = "deployments.tasks.send_notification"


def notify(deployment: Deployment, event: NotificationEvent | str) -> Notification | None:
    """Record the outbox row for (deployment, event) once; enqueue its delivery after commit.

    Call it inside the engine's transaction. Returns the new row, or None when
    the event was already recorded. Never breaks the caller's transaction on a
    duplicate; a broker failure at commit is logged, not raised.
    """
    event = NotificationEvent(event)
    notification_id = _insert_once(deployment.pk, event)
    if notification_id is None:
        return None  # recorded already, by an earlier transition or a racer
    notification = Notification(pk=notification_id, deployment=deployment, event=event)
    transaction.on_commit(partial(_enqueue, notification.pk))
    return notification


def _insert_once(deployment_id: int, event: str) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING: one statement on the engine's hot path, no
    savepoint, and a duplicate never aborts the caller's transaction (PostgreSQL
    and SQLite >= 3.35 both speak it)."""
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (deployment_id, event, state, attempts, delivered_to, "
            "last_error, created_at) VALUES (%s, %s, %s, 0, %s, '', %s) "
            "ON CONFLICT (deployment_id, event) DO NOTHING RETURNING id",
            [deployment_id, event, NotificationState.PENDING, "[]", timezone.now()],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def deliver(notification_id: int) -> float | None:
    """Send one row to every configured channel it still owes; never raises for delivery.

    Returns the seconds until the next look when a channel failed or an earlier event
    of the deployment is still pending, else None: sent, given up, already handled,
    missing, or held by another try.
    """
    held_until = _hold_behind_earlier_event(notification_id)
    if held_until is not None:  # "started" must not reach Slack after "failed"
        return max((held_until - timezone.now()).total_seconds(), 0.0)
    notification = _claim(notification_id)
    if notification is None:
        return None
    failures = []
    for channel in channels.configured_channels():
        if channel.name in notification.delivered_to:
            continue
        result = _send(channel, notification)
        if not result.ok:
            failures.append(f"{channel.name}: {result.reason}")
        elif not _record_delivered(notification, channel.name):
            return None  # our lease was taken over; the other try owns the row now
    if failures:
        return _record_failure(notification, "; ".join(failures))
    _record_sent(notification)
    return None


def enqueue_due(now: datetime | None = None) -> int:
    """Re-enqueue pending rows whose retry is due or whose first message was lost.

    Called by the engine's periodic sweeper (lost messages, Redis restarts).
    Returns how many were enqueued.
    """
    now = now or timezone.now()
    due = Notification.objects.filter(state=NotificationState.PENDING).filter(
        Q(next_attempt_at__lte=now)
        | Q(next_attempt_at__isnull=True, created_at__lte=now - _lost_after())
    )
    ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    enqueued = 0
    for pk in ids:
        if not _enqueue(pk):
            break  # the broker is down: the next sweep tries again, without a wait per row
        enqueued += 1
    return enqueued


def backoff_seconds(attempts: int) -> float:
    """Exponential from PORTAL_NOTIFY_BACKOFF_SECONDS, capped at MAX_BACKOFF_SECONDS, ± jitter."""
    base = float(settings.PORTAL_NOTIFY_BACKOFF_SECONDS)
    delay = min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return round(delay * random.uniform(1 - JITTER, 1 + JITTER), 3)


def _enqueue(notification_id: int) -> bool:
    # Sent by name (routed by CELERY_TASK_ROUTES): deployments.tasks imports this module.
    try:
        current_app.send_task(SEND_TASK, args=(notification_id,))
    except Exception as exc:  # the broker is down or unreachable
        logger.warning(
            "Could not enqueue notification #%s (%s); the sweeper will retry it",
            notification_id,
            channels.mask_urls(str(exc)) or type(exc).__name__,
        )
        return False
    return True


def _hold_behind_earlier_event(notification_id: int) -> datetime | None:
    """When an older event of the same deployment is still pending, record on this row
    when it looks again and return that time; None when nothing holds it.

    Each row is its own task in a thread pool, retried with back-off; without the hold
    a fast failure could be announced before the start it follows. The look is put off
    until just after the earlier row's next try (a Slack outage holds both for as long
    as the earlier one backs off, up to MAX_BACKOFF_SECONDS), never brought forward: a
    try of this row under way keeps its lease.
    """
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, state=NotificationState.PENDING)
            .order_by()
            .first()
        )
        if row is None:
            return None
        earlier = (
            Notification.objects.filter(
                deployment_id=row.deployment_id, pk__lt=row.pk, state=NotificationState.PENDING
            )
            .order_by("pk")
            .first()
        )
        if earlier is None:
            return None
        look_again = _after_next_try_of(earlier, timezone.now())
        if row.next_attempt_at is None or row.next_attempt_at < look_again:
            row.next_attempt_at = look_again
            row.save(update_fields=["next_attempt_at"])
    return row.next_attempt_at


def _after_next_try_of(earlier: Notification, now: datetime) -> datetime:
    """Just after `earlier`'s next try ends: its scheduled retry or the end of the lease of
    a try under way; when that try is due already (its message waits for a worker) or its
    first message is still in flight, after the longest a try may take from now."""
    if earlier.next_attempt_at is not None and earlier.next_attempt_at > now:
        return earlier.next_attempt_at + HOLD_MARGIN
    return now + _lease() + HOLD_MARGIN


def _release_next_event(notification: Notification) -> None:
    """The row after this one (sent or given up) may go now: make it due and enqueue it
    after commit. Only a row never tried is touched: one with attempts was not held
    behind this one but is in its own back-off or lease."""
    following = (
        Notification.objects.select_for_update()
        .filter(
            deployment_id=notification.deployment_id,
            pk__gt=notification.pk,
            state=NotificationState.PENDING,
        )
        .order_by("pk")
        .first()
    )
    if following is None or following.attempts:
        return
    following.next_attempt_at = timezone.now()
    following.save(update_fields=["next_attempt_at"])
    transaction.on_commit(partial(_enqueue, following.pk))


def _claim(notification_id: int) -> Notification | None:
    """Take the row for one try under its row lock: attempts += 1, lease in next_attempt_at."""
    now = timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update().filter(pk=notification_id).order_by().first()
        )
        if notification is None or notification.state != NotificationState.PENDING:
            return None  # deleted with its deployment, or already sent / given up
        if notification.next_attempt_at and notification.next_attempt_at > now:
            return None  # another try holds it, or its retry is not due: that message comes
        if notification.attempts >= settings.PORTAL_NOTIFY_MAX_ATTEMPTS:
            # The last try's worker died before it recorded an outcome.
            _give_up(notification, notification.last_error or "the last try never finished")
            return None
        notification.attempts += 1
        notification.next_attempt_at = now + _lease()
        notification.save(update_fields=["attempts", "next_attempt_at"])
    # Loaded outside the lock: FOR UPDATE with joins would lock the deployment too.
    return Notification.objects.select_related(
        "deployment__service",
        "deployment__environment",
        "deployment__release",
        "deployment__requested_by",
    ).get(pk=notification_id)


def _send(channel: channels.Channel, notification: Notification) -> channels.PostResult:
    """Build and post one channel's message, and keep the try (body, host, status, time);
    a bug in building is a failed try, not a crash."""
    attempted_at, started = timezone.now(), time.monotonic()
    body: dict = {}
    try:
        body = mask_json(channel.build(notification))
        result = channels.post_json(channel.url, body)
    except Exception as exc:
        logger.exception(
            "Building the %s message of notification #%s", channel.name, notification.pk
        )
        result = channels.PostResult(False, channels.mask_urls(f"{type(exc).__name__}: {exc}"))
    _record_attempt(notification, channel, body, result, attempted_at, time.monotonic() - started)
    return result


def _record_attempt(notification, channel, body, result, attempted_at, seconds) -> None:
    # Kept whatever the fencing says: the HTTP call happened, even for a try that lost
    # its lease meanwhile, and the Messages page must show every message that left.
    DeliveryAttempt.objects.create(
        notification_id=notification.pk,
        channel=channel.name,
        destination=channels.destination_host(channel.url),
        body=body,
        attempted_at=attempted_at,
        duration_ms=round(seconds * 1000),
        status_code=result.status_code,
        accepted=result.ok,
        error="" if result.ok else channels.mask_urls(result.reason)[:1000],
    )


def _record_delivered(notification: Notification, channel_name: str) -> bool:
    """Append the channel to delivered_to at once; False if our try lost the row."""
    with transaction.atomic():
        row = _locked_if_still_ours(notification)
        if row is None:
            return False
        row.delivered_to = [*row.delivered_to, channel_name]
        row.save(update_fields=["delivered_to"])
    notification.delivered_to = row.delivered_to
    return True


def _record_sent(notification: Notification) -> None:
    with transaction.atomic():
        sent = _still_ours(notification).update(
            state=NotificationState.SENT, sent_at=timezone.now(), next_attempt_at=None
        )
        if sent:
            _release_next_event(notification)


def _record_failure(notification: Notification, reason: str) -> float | None:
    """Schedule the next try, or give up after PORTAL_NOTIFY_MAX_ATTEMPTS; seconds or None."""
    reason = channels.mask_urls(reason)[:1000]
    with transaction.atomic():
        row = _locked_if_still_ours(notification)
        if row is None:
            return None
        if row.attempts >= settings.PORTAL_NOTIFY_MAX_ATTEMPTS:
            _give_up(row, reason)
            return None
        delay = backoff_seconds(row.attempts)
        row.last_error = reason
        row.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        row.save(update_fields=["last_error", "next_attempt_at"])
    logger.info(
        "Notification #%s try %s failed, next in %.1fs: %s", row.pk, row.attempts, delay, reason
    )
    return delay


def _give_up(notification: Notification, reason: str) -> None:
    notification.state = NotificationState.GIVEN_UP
    notification.last_error = reason
    notification.next_attempt_at = None
    notification.save(update_fields=["state", "last_error", "next_attempt_at"])
    _release_next_event(notification)
    logger.warning(
        "Gave up notification #%s (%s of deployment #%s) after %s attempts: %s",
        notification.pk,
        notification.event,
        notification.deployment_id,
        notification.attempts,
        reason,
    )


def _lease() -> timedelta:
    per_channel = 4 * float(settings.PORTAL_NOTIFY_TIMEOUT_SECONDS)  # connect, write, read, pool
    return timedelta(seconds=settings.PORTAL_NOTIFY_LEASE_SECONDS + 2 * per_channel)


def _still_ours(notification: Notification):
    # Fencing: a try that outlived its lease finds attempts bumped by the next one.
    return Notification.objects.filter(
        pk=notification.pk, attempts=notification.attempts, state=NotificationState.PENDING
    )


def _locked_if_still_ours(notification: Notification) -> Notification | None:
    return _still_ours(notification).select_for_update().order_by().first()


def _lost_after() -> timedelta:
    return timedelta(seconds=settings.PORTAL_NOTIFY_LOST_AFTER_SECONDS)
