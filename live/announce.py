"""What the engine tells live pages: a deployment, a lane or an environment changed.

Channels (every name prefixed by `settings.PORTAL_CHANNEL_PREFIX`):
`deployment:<id>` carries `log:<last_seq>` (new log lines) or `state`;
`lane:<lane_id>` carries `state`; `release:<id>` carries `log:<last_seq>` (build output)
or `state`. Each call is made inside the transaction of the
change and publishes on commit, so a page never wakes before the rows it will read
are visible, and a rolled-back change announces nothing. Without Redis
(`settings.REDIS_URL` empty) publishing is a no-op: the hub polls the database.
A lost publish (Redis restarted) costs a viewer at most the hub's safety poll.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

DEPLOYMENT = "deployment:"
LANE = "lane:"
RELEASE = "release:"
STATE = "state"
LOG = "log:"

# Called with (channel, payload) for every publish, Redis or not: a deliberate hook for
# tests that check every transition announces itself (see tests/live/).
observers: list[Callable[[str, str], None]] = []


def deployment_channel(deployment_id: int) -> str:
    return f"{settings.PORTAL_CHANNEL_PREFIX}{DEPLOYMENT}{deployment_id}"


def lane_channel(lane_id: int) -> str:
    return f"{settings.PORTAL_CHANNEL_PREFIX}{LANE}{lane_id}"


def release_channel(release_id: int) -> str:
    return f"{settings.PORTAL_CHANNEL_PREFIX}{RELEASE}{release_id}"


def deployment_changed(deployment_id: int, lane_id: int) -> None:
    """A deployment's state, reason, steps, checklist, approvals, cancel or review changed.

    Call inside the change's transaction; its page and its lane's pages hear on commit.
    """
    transaction.on_commit(
        lambda: _publish_all(
            [(deployment_channel(deployment_id), STATE), (lane_channel(lane_id), STATE)]
        )
    )


def lane_changed(lane_id: int) -> None:
    """Something a lane's cell shows changed (besides its deployments, which announce)."""
    transaction.on_commit(lambda: _publish_all([(lane_channel(lane_id), STATE)]))


def lanes_changed(lane_ids: list[int]) -> None:
    """Every one of these lanes changed (an environment's lock, an observation of what
    runs there): the caller names them, read in its transaction."""
    channels = [(lane_channel(lane_id), STATE) for lane_id in lane_ids]
    transaction.on_commit(lambda: _publish_all(channels))


def log_appended(deployment_id: int, last_seq: int) -> None:
    """Lines up to `last_seq` are committed (called by `events.emit_lines` after commit)."""
    _publish_all([(deployment_channel(deployment_id), f"{LOG}{last_seq}")])


def release_changed(release_id: int) -> None:
    """A release's state, reason or image changed (a build started, ended or was cancelled).

    Call inside the change's transaction; its page hears on commit."""
    transaction.on_commit(lambda: _publish_all([(release_channel(release_id), STATE)]))


def release_log_appended(release_id: int, last_seq: int) -> None:
    """Build lines up to `last_seq` are committed (called by `build_log` after commit)."""
    _publish_all([(release_channel(release_id), f"{LOG}{last_seq}")])


def _publish_all(messages: list[tuple[str, str]]) -> None:
    for channel, payload in messages:
        for observer in observers:
            observer(channel, payload)
    if not settings.REDIS_URL or not messages:
        return
    try:
        with redis_connection().pipeline(transaction=False) as pipe:
            for channel, payload in messages:
                pipe.publish(channel, payload)
            pipe.execute()
    except Exception as exc:  # a page that misses a wake-up catches up on its safety poll
        log.warning("could not publish %s: %s", messages[0][0], type(exc).__name__)


_redis = None


def redis_connection():
    """This process's publishing connection (sync; the hub has its own async one)."""
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
    return _redis
