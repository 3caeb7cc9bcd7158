"""Deployment output: `emit` stores log lines with a gap-free sequence and announces them.

Each line is stripped of terminal escapes and control characters (they could drive a
terminal following the deployment; PostgreSQL refuses NULs), masked and capped, then
inserted with the next per-deployment `seq` under the deployment's row lock (two
workers emitting at once can never take the same number or leave a gap), and
`deployment:<id>` is published on Redis after commit so live pages wake up
(`live.announce`).
"""

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from deployments.models import Deployment, LogLine, Step
from live import announce
from portal.log_lines import cut_long_line
from portal.masking import mask_secrets

PEM_MARK = "PRIVATE KEY-----"
STEP_CAP_NOTICE = (
    "[output truncated: this step reached its limit of {cap} bytes; later lines are not stored]"
)


def clean_line(text: str) -> str:
    """Strip escapes and controls (colour codes go, the coloured text stays), mask secrets
    and cut an overlong line visibly. `mask_secrets` strips before it matches.

    Only twice the line limit is masked (bounded work for a line of any length): a secret
    across the limit is still masked whole, and what follows is cut anyway."""
    limit = settings.PORTAL_LOG_LINE_MAX_CHARS
    head = cut_long_line(str(text).rstrip("\n"), limit=2 * limit)
    return cut_long_line(mask_secrets(head).rstrip("\n"), limit=limit)


def emit(deployment_id: int, step_id: int | None, text: str) -> list[LogLine]:
    """Store one line (or several, split on newlines) of a deployment's output."""
    return emit_lines(deployment_id, step_id, str(text).split("\n"))


def emit_lines(deployment_id: int, step_id: int | None, lines: Iterable[str]) -> list[LogLine]:
    """Store lines in order with consecutive `seq` numbers; returns the rows stored."""
    cleaned = [clean_line(line) for line in _private_keys_masked(list(lines))]
    if not cleaned:
        return []
    with transaction.atomic():
        deployment = (
            Deployment.objects.select_for_update().only("next_log_seq").get(pk=deployment_id)
        )
        cleaned = _within_step_cap(step_id, cleaned)
        if not cleaned:
            return []
        first = deployment.next_log_seq
        rows = LogLine.objects.bulk_create(
            LogLine(deployment_id=deployment_id, step_id=step_id, seq=first + i, text=line)
            for i, line in enumerate(cleaned)
        )
        Deployment.objects.filter(pk=deployment_id).update(next_log_seq=first + len(rows))
        transaction.on_commit(lambda: publish(deployment_id, first + len(rows) - 1))
    return rows


def _private_keys_masked(lines: list[str]) -> list[str]:
    """A private key printed over several lines (pod logs, a tool's dump) is masked as one
    block: masked line by line, its body lines would each survive as harmless-looking text."""
    if not any(PEM_MARK in line for line in lines):
        return lines
    return mask_secrets("\n".join(lines)).split("\n")


def _within_step_cap(step_id: int | None, lines: list[str]) -> list[str]:
    """Keep the lines that fit the step's byte cap, plus one notice when it is reached.

    Runs under the deployment's row lock, so the step's byte count is not raced.
    """
    if step_id is None:
        return lines
    cap = settings.PORTAL_LOG_STEP_MAX_BYTES
    used = Step.objects.values_list("log_bytes", flat=True).get(pk=step_id)
    kept, size = fit_within_cap(lines, used, cap, STEP_CAP_NOTICE.format(cap=cap))
    if size != used:
        Step.objects.filter(pk=step_id).update(log_bytes=size)
    return kept


def fit_within_cap(lines: list[str], used: int, cap: int, notice: str) -> tuple[list[str], int]:
    """The lines that fit in `cap` bytes after `used`, then `notice` when the cap is reached;
    and the bytes used after them (`cap` once reached). A line costs its UTF-8 bytes + 1;
    a line that would reach the cap is replaced by the notice, so a full log has one."""
    if used >= cap:
        return [], used
    kept: list[str] = []
    size = used
    for line in lines:
        line_size = len(line.encode()) + 1
        if size + line_size >= cap:
            return [*kept, notice], cap
        kept.append(line)
        size += line_size
    return kept, size


def publish(deployment_id: int, last_seq: int) -> None:
    """Wake the live pages of this deployment; without Redis they poll instead."""
    announce.log_appended(deployment_id, last_seq)
