"""The deployment engine: a durable state machine in the database; Celery is transport.

Public entry points; everything else in this package is internal.
"""

from deployments.engine.actions import ActionRefused, cancel, decide, resume
from deployments.engine.maintenance import reap_stale_steps, sweep
from deployments.engine.planning import (
    DeploymentRequestError,
    request_deployment,
    request_rollback,
)
from deployments.engine.runner import advance

__all__ = [
    "ActionRefused",
    "DeploymentRequestError",
    "advance",
    "cancel",
    "decide",
    "reap_stale_steps",
    "request_deployment",
    "request_rollback",
    "resume",
    "sweep",
]
