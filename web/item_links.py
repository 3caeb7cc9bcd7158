"""The link of a checklist item ("Verify metrics in Grafana"): the catalog's URL template
with the deployment's names and time range filled in, so the page it opens shows the
minutes that matter. An item whose catalog entry has no link has none.

Placeholders (catalog/catalog_file/values.py checks that a template uses only these):
  {service} {environment} {namespace}   names, URL-encoded
  {from} {to}       the range in epoch milliseconds (Grafana's `from`/`to`)
  {start} {end}     the range widened to whole minutes, as `YYYY-MM-DD HH:MM` in UTC,
                    URL-encoded (Prometheus's graph page takes the end as `g0.end_input`)
  {range}           its length in whole minutes, `17m`, or hours when exact, `2h`
                    (Prometheus's `g0.range_input`, which takes one unit)

The range runs from the deployment's start (its request, if it never started) to its
end (now, while it runs).
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from django.utils import timezone

from deployments.models import ChecklistItem, Deployment

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class TimeRange:
    """From the deployment's start (its request, if it never started) to its end (now,
    while it runs)."""

    began: datetime
    ended: datetime

    @classmethod
    def of(cls, deployment: Deployment) -> "TimeRange":
        began = deployment.started_at or deployment.created_at
        return cls(began, deployment.finished_at or timezone.now())

    @property
    def start(self) -> datetime:
        return _floor_minute(self.began)

    @property
    def end(self) -> datetime:
        """The end widened to a whole minute, at least a minute after the start."""
        return max(_ceil_minute(self.ended), self.start + MINUTE)

    @property
    def length(self) -> str:
        minutes = math.ceil((self.end - self.start) / MINUTE)
        return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def item_link(item: ChecklistItem) -> str:
    """The item's link for its deployment, or "" when the catalog gave it none."""
    return filled_link(item.link, item.deployment) if item.link else ""


def filled_link(template: str, deployment: Deployment) -> str:
    """The URL template with every placeholder filled for `deployment`."""
    span = TimeRange.of(deployment)
    values = {
        "service": quote(deployment.service.name, safe=""),
        "environment": quote(deployment.environment.name, safe=""),
        "namespace": quote(deployment.environment.namespace, safe=""),
        "from": str(int(span.began.timestamp() * 1000)),
        "to": str(int(span.ended.timestamp() * 1000)),
        "start": _prometheus_time(span.start),
        "end": _prometheus_time(span.end),
        "range": span.length,
    }
    link = template
    for name, value in values.items():
        link = link.replace(f"{{{name}}}", value)
    return link


def _prometheus_time(moment: datetime) -> str:
    return quote(moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), safe="")


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _ceil_minute(moment: datetime) -> datetime:
    floor = _floor_minute(moment)
    return floor if floor == moment else floor + MINUTE
