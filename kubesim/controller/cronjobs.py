"""The CronJob controller: Jobs on a schedule, in simulated time (see kubesim/simclock.py).

Follows the Kubernetes cronjob controller (v2): each sync reconciles the Jobs the
CronJob owns (finished ones leave `status.active`; a succeeded one moves
`lastSuccessfulTime`; one it did not start, such as `kubectl create job
--from=cronjob/x`, is reported as UnexpectedJob), then starts the most recent
scheduled time that is due since `lastScheduleTime` (or creation), as Job
`<cronjob>-<scheduled time in minutes since the epoch>`, subject to `suspend`,
`startingDeadlineSeconds` and `concurrencyPolicy`, then deletes finished Jobs
beyond the history limits. The schedule is read in `timeZone` (UTC unless
given; an unknown zone is refused on write, and reported as UnknownTimeZone).
"""

from __future__ import annotations

import copy
import datetime as dt
import zoneinfo

from ..cron import ScheduleError, most_recent_due, parse_schedule
from ..objects import get_condition, owner_reference, parse_timestamp, timestamp
from ..resources import lookup
from ..simclock import SimulatedClock

CRONJOBS = lookup("batch", "cronjobs")
JOBS = lookup("batch", "jobs")
COMPONENT = "cronjob-controller"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
UTC_NAMES = ("UTC", "Etc/UTC")
TOO_MANY_MISSED = 100


def time_zone(spec: dict) -> dt.tzinfo | None:
    """The zone the schedule is read in: UTC unless `timeZone` names another; None if unknown."""
    name = spec.get("timeZone")
    if not name or name in UTC_NAMES:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def rfc3339(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """Go's RFC3339 in the CronJob's zone: `Z` for UTC, else the offset (`+05:45`)."""
    if zone is dt.UTC:
        return timestamp(moment)
    return moment.astimezone(zone).isoformat(timespec="seconds")


def job_name(cronjob: dict, scheduled: dt.datetime) -> str:
    return f"{cronjob['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def job_from_template(cronjob: dict, scheduled: dt.datetime) -> dict:
    """The Job a CronJob starts for `scheduled`: its jobTemplate, owned by the CronJob."""
    template = cronjob["spec"].get("jobTemplate", {})
    template_meta = template.get("metadata", {})
    metadata = {
        "name": job_name(cronjob, scheduled),
        "annotations": {
            **template_meta.get("annotations", {}),
            SCHEDULED_TIMESTAMP: rfc3339(scheduled, time_zone(cronjob["spec"]) or dt.UTC),
        },
        "ownerReferences": [owner_reference(cronjob)],
    }
    if template_meta.get("labels"):
        metadata["labels"] = dict(template_meta["labels"])
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": copy.deepcopy(template.get("spec", {})),
    }


def job_outcome(job: dict) -> str:
    """`Complete` or `Failed` for a finished Job, else ""."""
    for kind in ("Complete", "Failed"):
        if (get_condition(job, kind) or {}).get("status") == "True":
            return kind
    return ""


def _reference(job: dict) -> dict:
    meta = job["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": meta["name"],
        "namespace": meta["namespace"],
        "resourceVersion": meta["resourceVersion"],
        "uid": meta["uid"],
    }


def _start_time(job: dict) -> str:
    return job.get("status", {}).get("startTime") or job["metadata"]["creationTimestamp"]


class CronJobController:
    def __init__(self, controller):
        self.controller = controller
        self.clock = SimulatedClock(controller.timing.speed, lambda: controller.now)
        self.completed_at: dict[str, dt.datetime] = {}  # job uid → simulated time seen finished
        self._told: set[tuple] = set()  # events already recorded once (per cronjob and cause)

    def sync_all(self) -> None:
        for cronjob in self.controller.store.list(CRONJOBS):
            self.sync(cronjob)

    def sync(self, cronjob: dict) -> None:
        jobs = self.controller.owned(JOBS, cronjob)
        status = copy.deepcopy(cronjob.get("status", {}))
        self._reconcile(cronjob, status, jobs)
        if not cronjob["spec"].get("suspend") and not cronjob["metadata"].get("deletionTimestamp"):
            self._run_if_due(cronjob, status)
        self._clean_up_history(cronjob)
        if not status.get("active"):
            status.pop("active", None)
        if status != cronjob.get("status", {}):
            meta = cronjob["metadata"]
            current = self.controller.store.get(CRONJOBS, meta["namespace"], meta["name"])
            if current is not None:
                self.controller.objects.write(CRONJOBS, dict(copy.deepcopy(current), status=status))

    # --- the Jobs it owns --------------------------------------------------------------

    def _reconcile(self, cronjob: dict, status: dict, jobs: list[dict]) -> None:
        active = {ref["uid"]: ref for ref in status.get("active", [])}
        for job in jobs:
            uid, name = job["metadata"]["uid"], job["metadata"]["name"]
            outcome = job_outcome(job)
            if uid in active and outcome:
                del active[uid]
                message = f"Saw completed job: {name}, condition: {outcome}"
                self._event(cronjob, "Normal", "SawCompletedJob", message)
            elif uid not in active and not outcome:
                message = f"Saw a job that the controller did not create or forgot: {name}"
                self._event_once(cronjob, ("unexpected", uid), "Warning", "UnexpectedJob", message)
            if outcome == "Complete":
                self._note_success(status, uid)
        present = {job["metadata"]["uid"] for job in jobs}
        for uid, ref in list(active.items()):
            if uid not in present:
                del active[uid]
                message = f"Active job went missing: {ref['name']}"
                self._event(cronjob, "Normal", "MissingJob", message)
        status["active"] = list(active.values())

    def _note_success(self, status: dict, job_uid: str) -> None:
        # The simulated moment the success was first seen (within a tick of the Job's
        # completion); the Job's own completionTime is on the wall clock.
        finished = self.completed_at.setdefault(job_uid, self.clock.now())
        last = status.get("lastSuccessfulTime")
        if not last or parse_timestamp(last) < finished.replace(microsecond=0):
            status["lastSuccessfulTime"] = timestamp(finished)

    def _clean_up_history(self, cronjob: dict) -> None:
        spec = cronjob["spec"]
        limits = {
            "Complete": spec.get("successfulJobsHistoryLimit", 3),
            "Failed": spec.get("failedJobsHistoryLimit", 1),
        }
        jobs = self.controller.owned(JOBS, cronjob)
        for outcome, limit in limits.items():
            finished = sorted(
                (job for job in jobs if job_outcome(job) == outcome),
                key=lambda job: (_start_time(job), job["metadata"]["name"]),
            )
            for job in finished[: max(0, len(finished) - limit)]:
                self._delete_job(cronjob, job)

    def _delete_job(self, cronjob: dict, job: dict) -> None:
        meta = job["metadata"]
        self.controller.objects.delete(JOBS, meta["namespace"], meta["name"], "Background")
        self.completed_at.pop(meta["uid"], None)
        self._event(cronjob, "Normal", "SuccessfulDelete", f"Deleted job {meta['name']}")

    # --- starting a Job ----------------------------------------------------------------

    def _run_if_due(self, cronjob: dict, status: dict) -> None:
        scheduled = self._due_time(cronjob, status)
        if scheduled is None:
            return
        meta, spec = cronjob["metadata"], cronjob["spec"]
        name = job_name(cronjob, scheduled)
        if self.controller.store.get(JOBS, meta["namespace"], name) is not None:
            status["lastScheduleTime"] = timestamp(scheduled)  # already started for this time
            return
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and status["active"]:
            message = (
                "Not starting job because prior execution is running and concurrency policy "
                "is Forbid"
            )
            self._event_once(cronjob, ("forbid", scheduled), "Normal", "JobAlreadyActive", message)
            return
        if policy == "Replace":
            for ref in status["active"]:
                job = self.controller.store.get(JOBS, ref["namespace"], ref["name"])
                if job is not None:
                    self._delete_job(cronjob, job)
            status["active"] = []
        created = self.controller.objects.create(
            JOBS, job_from_template(cronjob, scheduled), meta["namespace"]
        )
        self._event(cronjob, "Normal", "SuccessfulCreate", f"Created job {name}")
        status["active"].append(_reference(created))
        status["lastScheduleTime"] = timestamp(scheduled)

    def _due_time(self, cronjob: dict, status: dict) -> dt.datetime | None:
        """The most recent scheduled time not yet run and still within the starting deadline."""
        spec, uid = cronjob["spec"], cronjob["metadata"]["uid"]
        zone = time_zone(spec)
        if zone is None:
            message = f'invalid timeZone: "{spec["timeZone"]}": unknown time zone'
            self._event_once(cronjob, ("zone",), "Warning", "UnknownTimeZone", message)
            return None
        try:
            schedule = parse_schedule(spec.get("schedule", ""), zone)
        except ScheduleError as error:
            message = f'unparseable schedule: "{spec.get("schedule")}" : {error}'
            self._event_once(cronjob, ("schedule",), "Warning", "UnparseableSchedule", message)
            return None
        now = self.clock.now()
        earliest = self._earliest(cronjob, status)
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, now - dt.timedelta(seconds=deadline))
        scheduled, missed = most_recent_due(schedule, earliest, now)
        if missed > TOO_MANY_MISSED:
            message = (
                f"too many missed start times: {missed}. Set or decrease "
                ".spec.startingDeadlineSeconds or check clock skew"
            )
            self._event_once(cronjob, ("missed", uid), "Warning", "TooManyMissedTimes", message)
        if scheduled is None and deadline is not None:
            self._report_missed(cronjob, status, schedule, now, deadline)
        return scheduled

    def _earliest(self, cronjob: dict, status: dict) -> dt.datetime:
        if status.get("lastScheduleTime"):
            return parse_timestamp(status["lastScheduleTime"])
        created = parse_timestamp(cronjob["metadata"]["creationTimestamp"])
        return self.clock.simulated(created)

    def _report_missed(self, cronjob, status, schedule, now, deadline: int) -> None:
        """A scheduled time passed unstarted and is now beyond startingDeadlineSeconds."""
        missed, _ = most_recent_due(schedule, self._earliest(cronjob, status), now)
        if missed is not None and missed + dt.timedelta(seconds=deadline) < now:
            message = "Missed scheduled time to start a job: " + missed.strftime(
                "%a, %d %b %Y %H:%M:%S +0000"
            )
            self._event_once(cronjob, ("late", missed), "Warning", "MissSchedule", message)

    # --- events ------------------------------------------------------------------------

    def _event(self, cronjob: dict, kind: str, reason: str, message: str) -> None:
        self.controller.recorder.record(cronjob, kind, reason, message, COMPONENT)

    def _event_once(self, cronjob: dict, cause: tuple, kind: str, reason: str, message: str):
        key = (cronjob["metadata"]["uid"], *cause)
        if key not in self._told:
            self._told.add(key)
            self._event(cronjob, kind, reason, message)
