"""backup_fresh: the backup CronJob last succeeded within `max_age` (default: the
environment's RPO) and the last Job it started did not fail.

params: {cronjob: name, max_age: duration text like "26h" (optional)}
"""

from datetime import datetime, timedelta

from django.utils import timezone

from catalog.catalog_file.values import parse_duration
from deployments.checks import CheckResult, failed, passed
from deployments.checks.cluster import check_client, cluster_failure
from deployments.checks.evidence import age, utc
from integrations.kube.adapter import ClusterError

# A success stamped this far ahead of our clock is worth saying (a skewed clock; or
# kubesim, whose schedules run in simulated time, ahead of the wall clock).
CLOCK_SLACK = timedelta(minutes=1)


def check(deployment, params: dict) -> CheckResult:
    environment = deployment.environment
    where = f"{environment.namespace}/{params['cronjob']}"
    try:
        limit, limit_text = _limit(environment, params)
    except ValueError as error:
        return failed(f"Cannot check CronJob {where}: max_age: {error}.")
    try:
        with check_client(environment) as kube:
            cronjob = kube.read_cronjob(environment.namespace, params["cronjob"])
            jobs = kube.list_jobs(environment.namespace)
    except ClusterError as error:
        if error.status == 404:
            return failed(f"CronJob {where} not found in cluster {environment.cluster.name}.")
        return cluster_failure(error, f"Cannot check CronJob {where}: {error}.")
    return _judge(where, cronjob, _last_job(cronjob, jobs), limit, limit_text)


def _limit(environment, params: dict) -> tuple[timedelta, str]:
    """How old the last success may be, and how evidence names that limit."""
    if params.get("max_age"):
        limit = parse_duration(params["max_age"])
        return limit, f"max age {age(limit)}"
    return environment.rpo, f"RPO {age(environment.rpo)}"


def _judge(where: str, cronjob, job, limit: timedelta, limit_text: str) -> CheckResult:
    last_success = cronjob.status.last_successful_time if cronjob.status else None
    job_text, job_failed = _describe_job(job)
    if last_success is None:
        return failed(f"CronJob {where} has never succeeded ({limit_text}); {job_text}.")
    now = timezone.now()
    found = f"CronJob {where} last succeeded {utc(last_success)}, {_when(last_success, now)}"
    if now - last_success > limit:
        return failed(f"{found}: older than its {limit_text}; {job_text}.")
    evidence = f"{found}; {limit_text}; {job_text}."
    return failed(evidence) if job_failed else passed(evidence)


def _when(moment: datetime, now: datetime) -> str:
    if moment > now + CLOCK_SLACK:
        return f"{age(moment - now)} ahead of the portal's clock"
    return f"{age(now - moment)} ago"


def _last_job(cronjob, jobs: list):
    """The newest Job the CronJob owns (its ownerReferences name the CronJob's uid)."""
    uid = cronjob.metadata.uid
    owned = [
        job for job in jobs if any(ref.uid == uid for ref in job.metadata.owner_references or [])
    ]
    if not owned:
        return None
    return max(owned, key=lambda job: (job.metadata.creation_timestamp, job.metadata.name))


def _describe_job(job) -> tuple[str, bool]:
    """What the last Job did, for evidence, and whether it failed."""
    if job is None:
        return "no Job of it is left in the cluster", False
    name = job.metadata.name
    listed = (job.status.conditions if job.status else None) or []
    conditions = {c.type: c for c in listed if c.status == "True"}
    if "Failed" in conditions:
        condition = conditions["Failed"]
        when = f" {utc(condition.last_transition_time)}" if condition.last_transition_time else ""
        why = ": ".join(part for part in (condition.reason, condition.message) if part)
        return f"its last Job {name} failed{when}" + (f" ({why})" if why else ""), True
    if "Complete" in conditions:
        return f"its last Job {name} completed", False
    return f"its last Job {name} is still running", False
