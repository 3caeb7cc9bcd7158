"""The deployment engine: a durable state machine in the database; Celery is transport.

Public entry points; everything else in this package is internal. People, the CLI
and the API act only through these functions.
"""

from deployments.engine.actions import cancel, decide, resume, review_break_glass
from deployments.engine.answers import answer_item, waive_item
from deployments.engine.checks_run import check_again, run_pre_checks
from deployments.engine.errors import DeploymentRequestError
from deployments.engine.locks import lock, unlock
from deployments.engine.maintenance import reap_stale_steps, sweep
from deployments.engine.planning import (
    break_glass,
    promote,
    request_deployment,
    request_rollback,
)
from deployments.engine.runner import advance

__all__ = [
    "DeploymentRequestError",
    "advance",
    "answer_item",
    "break_glass",
    "cancel",
    "check_again",
    "decide",
    "lock",
    "promote",
    "reap_stale_steps",
    "request_deployment",
    "request_rollback",
    "resume",
    "review_break_glass",
    "run_pre_checks",
    "sweep",
    "unlock",
    "waive_item",
]
