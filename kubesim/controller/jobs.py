"""The Job controller: one pod at a time until the Job completes or hits its backoff limit."""

from __future__ import annotations

import copy

from ..objects import get_condition, timestamp
from ..resources import lookup
from ..timing import JOB_BACKOFF_CAP, JOB_BACKOFF_FIRST, backoff
from .replicasets import new_pod_from_template, pod_ready

JOBS = lookup("batch", "jobs")
PODS = lookup("", "pods")
COMPONENT = "job-controller"


def job_finished(job: dict) -> bool:
    return any(
        (get_condition(job, kind) or {}).get("status") == "True" for kind in ("Complete", "Failed")
    )


class JobController:
    def __init__(self, controller):
        self.controller = controller
        self.retry_after: dict[str, float] = {}  # job uid → cluster second of the next pod
        self.started: dict[str, float] = {}  # job uid → cluster second it started
        self.failures_seen: dict[str, int] = {}  # job uid → failed pods already backed off for

    def sync_all(self) -> None:
        for job in self.controller.store.list(JOBS):
            being_deleted = bool(job["metadata"].get("deletionTimestamp"))
            if not job_finished(job) and not job["spec"].get("suspend") and not being_deleted:
                self.sync(job)

    def sync(self, job: dict) -> None:
        pods = self.controller.owned(PODS, job)
        succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if p.get("status", {}).get("phase") == "Failed")
        active = [
            p for p in pods if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
        ]
        status = copy.deepcopy(job.get("status", {}))
        status.setdefault("startTime", timestamp())
        spec = job["spec"]
        uid = job["metadata"]["uid"]
        now = self.controller.now
        active_for = now - self.started.setdefault(uid, now)
        deadline = spec.get("activeDeadlineSeconds")
        if failed > self.failures_seen.get(uid, 0):
            # The next pod waits 10 s, 20 s, 40 s, … (at most 6 min) after a failure.
            self.failures_seen[uid] = failed
            self.retry_after[uid] = now + backoff(failed, JOB_BACKOFF_FIRST, JOB_BACKOFF_CAP)
        if succeeded >= spec.get("completions", 1):
            self._finish(
                job,
                status,
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            )
        elif failed > spec.get("backoffLimit", 6):
            self._finish(
                job,
                status,
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )
        elif deadline is not None and active_for > deadline:
            for pod in active:
                self.controller.pods.terminate(pod)
            active = []
            self._finish(
                job,
                status,
                "Failed",
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            )
        elif not active and now >= self.retry_after.get(uid, 0.0):
            active.append(self._start_pod(job))
        status.update(
            active=len(active) if not job_finished({"status": status}) else 0,
            succeeded=succeeded,
            failed=failed,
            ready=sum(1 for p in active if pod_ready(p)),
            terminating=0,
            uncountedTerminatedPods={},
        )
        status = {
            k: v
            for k, v in status.items()
            if v or k in ("ready", "terminating", "uncountedTerminatedPods")
        }
        if status != job.get("status"):
            updated = copy.deepcopy(
                self.controller.store.get(
                    JOBS, job["metadata"]["namespace"], job["metadata"]["name"]
                )
            )
            updated["status"] = status
            self.controller.objects.write(JOBS, updated)

    def _start_pod(self, job: dict) -> dict:
        pod = new_pod_from_template(job, job["spec"]["template"], job["metadata"]["name"])
        created = self.controller.objects.create(
            PODS, pod, job["metadata"]["namespace"], keep_status=True
        )
        self.controller.pods.advance(created)
        message = f"Created pod: {created['metadata']['name']}"
        self.controller.recorder.record(job, "Normal", "SuccessfulCreate", message, COMPONENT)
        return created

    def _finish(self, job: dict, status: dict, kind: str, reason: str, message: str) -> None:
        now = timestamp()
        target = "SuccessCriteriaMet" if kind == "Complete" else "FailureTarget"
        status["conditions"] = [
            _condition(target, reason, message, now),
            _condition(kind, reason, message, now),
        ]
        if kind == "Complete":
            status["completionTime"] = now
            self.controller.recorder.record(job, "Normal", "Completed", "Job completed", COMPONENT)
        else:
            self.controller.recorder.record(job, "Warning", reason, message, COMPONENT)


def _condition(kind: str, reason: str, message: str, now: str) -> dict:
    return {
        "type": kind,
        "status": "True",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }
