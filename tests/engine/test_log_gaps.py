"""A deployment's log line that the database could not take is not lost silently: the
next line stored is preceded by a notice of how many were lost, and when."""

import re
import threading

import pytest

from deployments.models import LogLine, Step
from deployments.states import StepKind
from deployments.steps import StepContext
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.database_outage import database_unreachable

pytestmark = pytest.mark.django_db(transaction=True)

# A gap's lines may be lost within one second ("at") or across several ("between"): each
# waits for the pool's timeout (PORTAL_DB_POOL_TIMEOUT) before it is counted.
GAP = (
    r"\[{} lost while the database was unreachable "
    r"(at \d\d:\d\d:\d\d|between \d\d:\d\d:\d\d and \d\d:\d\d:\d\d) UTC\]\Z"
)


@pytest.fixture
def deployment():
    return make_deployment(make_release(make_service("web")), make_environment("development"))


@pytest.fixture
def step(deployment):
    return Step.objects.create(deployment=deployment, kind=StepKind.ROLLOUT, position=1)


def look(deployment, step) -> StepContext:
    """What the runner hands a step for one look."""
    return StepContext(deployment, step, attempt=1, lost=threading.Event())


def texts(deployment) -> list[str]:
    return list(LogLine.objects.filter(deployment=deployment).values_list("text", flat=True))


def test_lines_lost_while_the_database_was_unreachable_leave_a_notice_before_the_next(
    deployment, step
):
    context = look(deployment, step)
    context.emit("before the outage")
    with database_unreachable():
        context.emit("lost one")
        context.emit("lost two\nand its second line")
    context.emit("after the outage")
    before, notice, after = texts(deployment)
    assert (before, after) == ("before the outage", "after the outage")
    assert re.match(GAP.format("3 log lines"), notice), notice
    assert LogLine.objects.get(text=notice).step_id == step.pk


def test_the_next_look_of_the_deployment_reports_the_gap_of_the_previous_one(deployment, step):
    with database_unreachable():
        look(deployment, step).emit("lost in the first look")
    look(deployment, step).emit("the next look")
    notice, line = texts(deployment)
    assert re.match(GAP.format("1 log line"), notice), notice
    assert line == "the next look"


def test_a_gap_is_reported_once_and_only_in_its_own_deployment(deployment, step):
    other = make_deployment(deployment.release, make_environment("staging"))
    other_step = Step.objects.create(deployment=other, kind=StepKind.ROLLOUT, position=1)
    with database_unreachable():
        look(deployment, step).emit("lost")
    look(other, other_step).emit("the other deployment")
    look(deployment, step).emit("first after")
    look(deployment, step).emit("second after")
    assert texts(other) == ["the other deployment"]
    assert texts(deployment)[1:] == ["first after", "second after"]
    assert re.match(GAP.format("1 log line"), texts(deployment)[0])
