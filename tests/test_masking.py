"""Secrets stay secret: every masked form is absent from log lines, step results, reasons,
notification bodies, the deployment page and the admin pages; a smoke URL's
`user:password@` goes as HTTP basic auth; terminal escapes are stripped before storage.

The pipeline runs in this process against kubesim over HTTP; smoke checks and
notifications go to real HTTP servers on 127.0.0.1.
"""

import base64
import json
from datetime import timedelta

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import Cluster, Environment, Service
from deployments.engine import request_deployment
from deployments.events import emit
from deployments.models import Deployment, LogLine, Notification, Step
from deployments.notifications import outbox
from deployments.states import DeploymentState, NotificationEvent, StepKind
from kubesim.testing import VIZORA_CONFIG, KubeSim
from portal.masking import MASK, mask_json, mask_secrets
from tests.engine.conftest import register, run_in_process
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.http import LocalServer, QuietHandler
from tests.harness.receiver import WebhookReceiver

# One of each form the issue names (built from parts so no scanner mistakes this file
# for a leak). Each must never be shown or stored.
SECRETS = {
    "AWS access key": "AKIA" + "IOSFODNN7EXAMPLE",
    "AWS secret key": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    "Stripe live key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "Stripe test key": "sk_test_" + "51Hx9ZaBcDeFgHiJkLmNoPq",
    "Slack token": "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "Slack webhook path": "T0A1B2C3D/B0A1B2C3D/" + "abcdefghijklmnopqrstuvwx",
    "GitHub token": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "GitHub fine-grained token": "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    "JWT": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    + "eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "URL password": "db-pass-7f3e9c",
    "second URL password": "git-pass-2b8d4a",
}
SMOKE_USER, SMOKE_PASSWORD = "smoke", "smoke-pass-5c1a"
# Every form in one line, as a careless script prints it: URLs anywhere, several per line.
LEAKY = (
    f"key {SECRETS['AWS access key']} / {SECRETS['AWS secret key']} stripe "
    f"{SECRETS['Stripe live key']},{SECRETS['Stripe test key']} slack {SECRETS['Slack token']} "
    f"https://hooks.slack.com/services/{SECRETS['Slack webhook path']} github "
    f"{SECRETS['GitHub token']} {SECRETS['GitHub fine-grained token']} "
    f"Authorization-less {SECRETS['JWT']} "
    f"db=postgres://app:{SECRETS['URL password']}@db:5432/app "
    f"(git https://deploy:{SECRETS['second URL password']}@git.example.com/x.git)"
)
# What a hostile or merely colourful program writes: colour, a window title, a clipboard
# write (OSC 52), a hyperlink, clearing the screen, an 8-bit CSI.
ESCAPED = (
    "\x1b[1;31mcoloured text\x1b[0m \x1b]0;window-title-set\x07"
    "\x1b]52;c;Y2xpcGJvYXJkLXdyaXRl\x07 \x1b]8;;https://evil.example/\x1b\\a link\x1b]8;;\x1b\\"
    "\x1b[2J\x1b[H \x9b32mgreen\x9b0m"
)
ESCAPE_TRACES = ["\x1b", "\x07", "\x9b", "\\u001b", "window-title-set", "Y2xpY", "evil.example"]
FORBIDDEN = [*SECRETS.values(), SMOKE_PASSWORD, *ESCAPE_TRACES]


def leaks(text: str) -> list[str]:
    return [secret for secret in FORBIDDEN if secret in text]


# The masking rules themselves


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (f"id {SECRETS['AWS access key']} ok", "id *** ok"),
        (f"aws_secret_access_key = {SECRETS['AWS secret key']}", "aws_secret_access_key = ***"),
        (f'{{"SecretAccessKey": "{SECRETS["AWS secret key"]}"}}', '{"SecretAccessKey": "***"}'),
        (f"bare {SECRETS['AWS secret key']} here", "bare *** here"),
        (f"{SECRETS['Stripe live key']} {SECRETS['Stripe test key']}", "*** ***"),
        (f"SLACK={SECRETS['Slack token']}", "SLACK=***"),
        (f"POST https://hooks.slack.com/services/{SECRETS['Slack webhook path']} ok",
         "POST https://hooks.slack.com/services/*** ok"),
        (f"{SECRETS['GitHub token']} and {SECRETS['GitHub fine-grained token']}", "*** and ***"),
        (f"cookie {SECRETS['JWT']};", "cookie ***;"),
        (f"a http://u:{SECRETS['URL password']}@h1/x b redis://:{SECRETS['URL password']}@h2 "
         f"c x+https://me:p@ss@h3?q=1", "a http://u:***@h1/x b redis://:***@h2 c x+https://me:***@h3?q=1"),
        (f"https://x-access-token:{SECRETS['GitHub token']}@github.com/o/r.git",
         "https://x-access-token:***@github.com/o/r.git"),
    ],
    ids=lambda value: value[:24],
)  # fmt: skip
def test_each_secret_form_is_masked(line, shown):
    assert mask_secrets(line) == shown


@pytest.mark.parametrize(
    "line",
    [
        "git 3f786850e387550fdab836ed7e6dc881de23001b built",
        "ghcr.io/your-org/vizora-web:2.0.0@sha256:"
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        "Rollout failed: deployment vizora-web exceeded its progress deadline: 2 restarts.",
        "GET http://api.dev.vizora.com/health answered 200 from version 2.0.0",
        '{"url": "http://host:8080", "owner": "ops@example.com"}',
        "ReplicaSetControllerReconcilesDeployments is an ordinary word of forty letters",
    ],
)
def test_shas_digests_and_ordinary_words_are_not_masked(line):
    assert mask_secrets(line) == line


def test_terminal_escapes_are_stripped_keeping_the_text_they_colour():
    assert mask_secrets(ESCAPED) == "coloured text  a link green"


def test_an_escape_inside_a_secret_does_not_hide_it_from_masking():
    token = SECRETS["Stripe live key"]
    assert mask_secrets(f"{token[:8]}\x1b[0m{token[8:]}") == MASK


def test_json_values_are_masked_and_values_under_secret_keys_replaced():
    value = {"password": "hunter2", "checks": [{"detail": SECRETS["JWT"]}], "count": 2}
    assert mask_json(value) == {"password": MASK, "checks": [{"detail": MASK}], "count": 2}


# Stored rows, pages and admin pages, after a real deployment


class SmokeTarget(LocalServer):
    """An HTTP server on 127.0.0.1 answering GET with `body`, recording request headers."""

    def __init__(self, body: dict):
        self.body = body
        self.requests: list[dict] = []
        super().__init__(self._handler())
        self.address = f"127.0.0.1:{self.port}"

    def _handler(self):
        target = self

        class Handler(QuietHandler):
            def do_GET(self):
                target.requests.append(
                    {"path": self.path, **{k.lower(): v for k, v in self.headers.items()}}
                )
                self.answer(200, json.dumps(target.body).encode())

        return Handler


@pytest.fixture
def kubesim(tmp_path):
    with KubeSim(VIZORA_CONFIG, speed=20, workdir=tmp_path / "kubesim") as sim:
        yield sim


@pytest.fixture
def channels(settings):
    """Slack and the webhook both pointed at receivers on 127.0.0.1."""
    with WebhookReceiver() as slack, WebhookReceiver() as webhook:
        settings.SLACK_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_URL = slack.url, webhook.url
        settings.PORTAL_NOTIFY_BACKOFF_SECONDS = 0.05
        yield slack, webhook


@pytest.fixture
def smoke_settings(settings):
    settings.PORTAL_SMOKE_ATTEMPTS, settings.PORTAL_SMOKE_RETRY_SECONDS = 1, 0.05


def leaky_catalog(kubesim, smoke_url: str, resolve: dict) -> tuple[Service, Environment]:
    """Middleware whose migration prints every secret form in colour, and an environment
    whose smoke URL carries basic-auth credentials."""
    cluster = Cluster.objects.create(
        name="development", kubeconfig_path=str(kubesim.kubeconfig), context="development"
    )
    environment = Environment.objects.create(
        name="development", cluster=cluster, namespace="vizora-dev",
        rollout_timeout=timedelta(seconds=30), auto_rollback=True,
        urls={"api": smoke_url}, resolve=resolve,
    )  # fmt: skip
    service = Service.objects.create(
        name="middleware", image_repository="ghcr.io/your-org/vizora-middleware",
        repository="https://github.com/your-org/vizora-middleware",
        workloads=[{"deployment": "vizora-middleware", "containers": ["middleware"]}],
        smoke_checks=[{"url": "api", "path": "/health", "expect_status": 200}],
        migration_command=["sh", "-c", f"echo {ESCAPED} {LEAKY}"],
    )  # fmt: skip
    return service, environment


def smoke_url(host: str) -> str:
    return f"http://{SMOKE_USER}:{SMOKE_PASSWORD}@{host}"


def deliver_all(deployment: Deployment) -> None:
    for notification in deployment.notifications.order_by("pk"):
        for _ in range(5):
            if outbox.deliver(notification.pk) is None:
                break


def stored_text(deployment: Deployment) -> str:
    """Every stored row people read, as one text: log, steps, reasons, audit."""
    rows = [
        *LogLine.objects.filter(deployment=deployment).values_list("text", flat=True),
        *(
            json.dumps(row)
            for row in Step.objects.filter(deployment=deployment).values("reason", "result")
        ),
        Deployment.objects.get(pk=deployment.pk).reason,
        *(json.dumps(row.detail) for row in AuditEvent.objects.filter(deployment=deployment)),
    ]
    return "\n".join(rows)


def pages(client, deployment: Deployment) -> dict[str, str]:
    urls = {
        "deployment page": reverse("deployment-detail", args=[deployment.pk]),
        "service page": reverse("service-detail", args=[deployment.service.name]),
        "deployment admin": reverse("admin:deployments_deployment_change", args=[deployment.pk]),
        "log admin": reverse("admin:deployments_logline_changelist"),
        "service admin": reverse("admin:environments_service_change", args=[deployment.service_id]),
        "environment admin": reverse(
            "admin:environments_environment_change", args=[deployment.environment_id]
        ),
    }
    rendered = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        rendered[name] = response.content.decode()
    return rendered


@pytest.mark.django_db(transaction=True)
def test_no_secret_or_escape_reaches_rows_notifications_or_pages(
    kubesim, channels, smoke_settings, admin_client
):
    # The service answers its smoke check naming an "image" made of every secret form,
    # so the failure reason, the step's result and the notifications all quote them.
    with SmokeTarget({"image": f"{ESCAPED} {LEAKY}"}) as target:
        service, _ = leaky_catalog(
            kubesim, smoke_url("api.dev.vizora.com"), {"api.dev.vizora.com": target.address}
        )
        register(service, "2.0.0")
        deployment = request_deployment("middleware", "2.0.0", "development")
        run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK, deployment.reason
    deliver_all(deployment)

    stored = stored_text(deployment)
    assert leaks(stored) == []
    assert "migrate | + sh -c echo coloured text  a link " in stored, "the text stays"
    assert f"{MASK} / {MASK} stripe {MASK},{MASK}" in stored
    assert deployment.reason.startswith("Smoke test GET http://api.dev.vizora.com/health")
    smoke = deployment.steps.get(kind=StepKind.SMOKE)
    assert smoke.result["checks"][0]["url"] == "http://api.dev.vizora.com/health"
    rollout = deployment.steps.get(kind=StepKind.ROLLOUT)
    assert "@sha256:" in json.dumps(rollout.result), "image digests are not masked"

    slack, webhook = channels
    assert "rolled_back" in webhook.events()
    bodies = json.dumps([*slack.bodies, *webhook.bodies], ensure_ascii=False)
    assert leaks(bodies) == []
    assert "Smoke test GET http://api.dev.vizora.com/health" in bodies

    rendered = pages(admin_client, deployment)
    for name, html in rendered.items():
        assert leaks(html) == [], name


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("resolved", [True, False], ids=["resolve-map", "direct"])
def test_smoke_credentials_go_as_basic_auth_never_in_the_host_header_or_result(
    kubesim, smoke_settings, resolved
):
    with SmokeTarget({"version": "2.1.0"}) as target:
        host = "api.dev.vizora.com" if resolved else target.address
        resolve = {"api.dev.vizora.com": target.address} if resolved else {}
        service, _ = leaky_catalog(kubesim, smoke_url(host), resolve)
        service.migration_command = []
        service.save()
        register(service, "2.1.0")
        deployment = request_deployment("middleware", "2.1.0", "development")
        run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason

    assert len(target.requests) == 3, "three good answers in a row (smoke.consecutive)"
    expected = base64.b64encode(f"{SMOKE_USER}:{SMOKE_PASSWORD}".encode()).decode()
    for request in target.requests:
        assert request["authorization"] == f"Basic {expected}"
        assert request["host"] == host
    smoke = deployment.steps.get(kind=StepKind.SMOKE)
    assert smoke.result["checks"][0]["url"] == f"http://{host}/health"
    assert leaks(stored_text(deployment)) == []
    assert f"GET http://{host}/health answered 200 from version 2.1.0" in stored_text(deployment)


# Rows written before masking, or around it, are still shown and sent masked


@pytest.fixture
def unmasked_deployment(db):
    """A deployment whose rows hold raw secrets (written before these patterns existed)."""
    deployment = make_deployment(
        make_release(make_service("web")), make_environment("production"), state="failed"
    )
    Deployment.objects.filter(pk=deployment.pk).update(reason=f"failed: {LEAKY}")
    step = Step.objects.create(deployment=deployment, kind=StepKind.ROLLOUT, position=1)
    Step.objects.filter(pk=step.pk).update(reason=f"Rollout failed: {LEAKY}")
    LogLine.objects.create(deployment=deployment, step=step, seq=1, text=LEAKY)
    Service.objects.filter(pk=deployment.service_id).update(
        repository=f"https://x-access-token:{SECRETS['GitHub token']}@github.com/o/web.git",
        migration_command=["migrate", f"--url=postgres://app:{SECRETS['URL password']}@db/app"],
        smoke_checks=[{"url": "api", "path": f"/health?token={SECRETS['JWT']}"}],
    )
    Environment.objects.filter(pk=deployment.environment_id).update(
        urls={"api": smoke_url("api.example.com"), "hook": f"https://hooks.slack.com/services/"
              f"{SECRETS['Slack webhook path']}"},
    )  # fmt: skip
    deployment.refresh_from_db()
    return deployment


def test_notification_bodies_are_masked_even_when_the_row_is_not(unmasked_deployment, channels):
    notification = Notification.objects.create(
        deployment=unmasked_deployment, event=NotificationEvent.FAILED
    )
    assert outbox.deliver(notification.pk) is None
    slack, webhook = channels
    assert len(slack.bodies) == len(webhook.bodies) == 1
    bodies = json.dumps([*slack.bodies, *webhook.bodies], ensure_ascii=False)
    assert leaks(bodies) == []
    assert f"failed: key {MASK}" in webhook.bodies[0]["reason"]


def test_admin_pages_show_catalog_and_history_masked(unmasked_deployment, admin_client):
    rendered = pages(admin_client, unmasked_deployment)
    for name in ("deployment admin", "log admin", "service admin", "environment admin"):
        assert leaks(rendered[name]) == [], name
    environment = rendered["environment admin"]
    assert f"http://smoke:{MASK}@api.example.com" in environment
    assert f"hooks.slack.com/services/{MASK}" in environment
    assert f"postgres://app:{MASK}@db/app" in rendered["service admin"]
    assert f"x-access-token:{MASK}@github.com/o/web.git" in rendered["service admin"]


def test_the_lock_of_an_environment_stays_editable_in_the_admin(unmasked_deployment, admin_client):
    environment = unmasked_deployment.environment
    url = reverse("admin:environments_environment_change", args=[environment.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="locked"' in html and 'name="lock_reason"' in html
    assert 'name="urls"' not in html, "catalog values stay read-only"
    response = admin_client.post(url, {"locked": "on", "lock_reason": "incident 42"})
    assert response.status_code == 302
    environment.refresh_from_db()
    assert (environment.locked, environment.lock_reason) == (True, "incident 42")
    assert environment.urls["api"] == smoke_url("api.example.com"), "stored as the catalog says"


def test_emitted_lines_keep_shas_and_digests(db):
    deployment = make_deployment(make_release(make_service("web")), make_environment())
    line = (
        "built 3f786850e387550fdab836ed7e6dc881de23001b as ghcr.io/o/web:1.0.0@sha256:"
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    )
    (row,) = emit(deployment.pk, None, line)
    assert row.text == line


def test_the_service_page_shows_the_repository_masked(unmasked_deployment, admin_client):
    page = pages(admin_client, unmasked_deployment)["service page"]
    assert SECRETS["GitHub token"] not in page
    assert f"https://x-access-token:{MASK}@github.com/o/web.git" in page
