"""emit(): masked, NUL-free, capped output with a gap-free sequence per deployment."""

import threading

import pytest
from django.db import connection

from deployments.events import emit, emit_lines
from deployments.models import LogLine, Step
from deployments.states import StepKind
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.fake_secrets import PEM_BODY, pem


@pytest.fixture
def deployment(db):
    return make_deployment(make_release(make_service("web")), make_environment("development"))


@pytest.fixture
def step(deployment):
    return Step.objects.create(deployment=deployment, kind=StepKind.ROLLOUT, position=1)


def texts(deployment) -> list[str]:
    return list(LogLine.objects.filter(deployment=deployment).values_list("text", flat=True))


def test_lines_get_consecutive_sequence_numbers(deployment, step):
    emit(deployment.pk, step.pk, "one")
    emit_lines(deployment.pk, step.pk, ["two", "three"])
    emit(deployment.pk, None, "four\nfive")
    rows = LogLine.objects.filter(deployment=deployment).values_list("seq", "text")
    assert list(rows) == [(1, "one"), (2, "two"), (3, "three"), (4, "four"), (5, "five")]


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("connecting to postgres://vizora:s3cr3t-pass@db:5432/vizora",
         "connecting to postgres://vizora:***@db:5432/vizora"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Authorization: ***"),
        ('{"password": "hunter2-long"}', '{"password": "***"}'),
        ("JWT_SECRET=abcdef123456 started", "JWT_SECRET=*** started"),
    ],
)  # fmt: skip
def test_credentials_are_masked(deployment, step, line, shown):
    emit(deployment.pk, step.pk, line)
    assert texts(deployment) == [shown]


def test_configured_secret_values_are_masked(deployment, step, settings):
    from portal import masking

    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/T000/B000/webhook-secret-value"
    masking.configured_secrets.cache_clear()
    try:
        emit(deployment.pk, step.pk, f"posting to {settings.SLACK_WEBHOOK_URL} now")
    finally:
        masking.configured_secrets.cache_clear()
    assert texts(deployment) == ["posting to *** now"]


def test_nul_characters_are_stripped(deployment, step):
    emit(deployment.pk, step.pk, "binary\x00garbage\x00")
    assert texts(deployment) == ["binarygarbage"]


def test_an_overlong_line_is_cut_with_a_visible_notice(deployment, step, settings):
    settings.PORTAL_LOG_LINE_MAX_CHARS = 100
    emit(deployment.pk, step.pk, "x" * 250)
    (text,) = texts(deployment)
    assert text == "x" * 100 + " … [line cut: 150 more characters]"


def test_an_enormous_line_is_cut_counting_every_character_and_masked_near_the_cut(
    deployment, step, settings
):
    settings.PORTAL_LOG_LINE_MAX_CHARS = 100
    emit(deployment.pk, step.pk, "x" * 95 + " password=hunter2hunter2 " + "y" * 50_000_000)
    (text,) = texts(deployment)
    # Counted after masking, as before: `hunter2hunter2` became `***`.
    assert text == "x" * 95 + " pass … [line cut: 50000009 more characters]"
    emit(deployment.pk, step.pk, "x" * 90 + " password=hunter2hunter2 " + "y" * 1000)
    assert "hunter" not in texts(deployment)[1], "a secret across the cut is masked whole"


def test_a_step_stops_storing_output_at_its_cap_with_one_notice(deployment, step, settings):
    settings.PORTAL_LOG_STEP_MAX_BYTES = 1024
    for n in range(100):
        emit(deployment.pk, step.pk, f"line {n:03} " + "y" * 40)
    stored = texts(deployment)
    assert stored[-1].startswith("[output truncated: this step reached its limit of 1024 bytes")
    assert 10 < len(stored) < 30
    assert sum(len(t) + 1 for t in stored[:-1]) <= 1024
    other = Step.objects.create(deployment=deployment, kind=StepKind.ROLLBACK, position=2)
    emit(deployment.pk, other.pk, "the rollback still logs")
    assert texts(deployment)[-1] == "the rollback still logs"


@pytest.mark.django_db(transaction=True)
def test_concurrent_emitters_never_share_or_skip_a_sequence_number():
    deployment = make_deployment(make_release(make_service("web")), make_environment("dev"))

    def write(worker: int):
        try:
            for n in range(25):
                emit(deployment.pk, None, f"worker {worker} line {n}")
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seqs = list(LogLine.objects.filter(deployment=deployment).values_list("seq", flat=True))
    assert seqs == list(range(1, 151))
    for worker in range(6):
        mine = [t for t in texts(deployment) if t.startswith(f"worker {worker} ")]
        assert mine == [f"worker {worker} line {n}" for n in range(25)]


def test_a_private_key_printed_over_several_lines_is_masked_whole(deployment, step):
    emit(deployment.pk, step.pk, "the pod printed:\n" + pem("RSA ") + "\nand went on")
    emit_lines(deployment.pk, step.pk, ["also as a list:", *pem("").split("\n")])

    stored = "\n".join(LogLine.objects.filter(deployment=deployment).values_list("text", flat=True))
    assert all(part not in stored for part in PEM_BODY)
    assert "the pod printed:" in stored and "and went on" in stored
    assert "-----BEGIN RSA PRIVATE KEY-----" in stored
