"""Build output: a release's log lines, stored gap-free and announced like a deployment's.

Lines are cleaned as deployment output is (`events.clean_line`: escapes stripped,
secrets masked, overlong lines cut), inserted with the next per-release `seq` under
the release's row lock, and `release:<id>` is published after commit so the release
page wakes up (`deployments.live.announce`).
"""

from collections.abc import Iterable

from django.db import transaction

from deployments.events import clean_line
from deployments.live import announce
from deployments.models import BuildLogLine, Release


def emit_build_lines(release_id: int, lines: Iterable[str]) -> list[BuildLogLine]:
    """Store lines in order with consecutive `seq` numbers; returns the rows stored."""
    cleaned = [clean_line(line) for line in lines]
    if not cleaned:
        return []
    with transaction.atomic():
        release = Release.objects.select_for_update().only("next_log_seq").get(pk=release_id)
        first = release.next_log_seq
        rows = BuildLogLine.objects.bulk_create(
            BuildLogLine(release_id=release_id, seq=first + i, text=line)
            for i, line in enumerate(cleaned)
        )
        Release.objects.filter(pk=release_id).update(next_log_seq=first + len(rows))
        last = first + len(rows) - 1
        transaction.on_commit(lambda: announce.release_log_appended(release_id, last))
    return rows


def emit_build_line(release_id: int, text: str) -> list[BuildLogLine]:
    """Store one line (or several, split on newlines) of a release's build output."""
    return emit_build_lines(release_id, str(text).split("\n"))


def release_changed(release_id: int) -> None:
    """The release's state, reason or image changed: call inside the change's transaction."""
    announce.release_changed(release_id)
