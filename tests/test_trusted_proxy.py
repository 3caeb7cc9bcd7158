"""X-Forwarded-Proto (and X-Forwarded-For) count only when PORTAL_TRUSTED_PROXY says a
proxy stands in front of the portal: otherwise any client could claim https (and so
dodge the redirect to it) or another address (and so dodge the sign-in throttle)."""

import subprocess
import sys

import httpx
import pytest
from django.conf import settings as django_settings

from tests.harness.server import PortalServer
from tests.harness.worker import REPO
from tests.test_settings import start_django


def proxy_header_setting(**env) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings';"
        "django.setup(); from django.conf import settings;"
        "print(settings.SECURE_PROXY_SSL_HEADER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={"SECRET_KEY": "k" * 60, "PATH": "/usr/bin:/bin", **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_x_forwarded_proto_is_ignored_by_default(tmp_path):
    assert proxy_header_setting(PORTAL_VAR_DIR=str(tmp_path)) == "None"


def test_x_forwarded_proto_is_honoured_behind_a_trusted_proxy(tmp_path):
    setting = proxy_header_setting(PORTAL_VAR_DIR=str(tmp_path), PORTAL_TRUSTED_PROXY="true")
    assert setting == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_a_bad_trusted_proxy_value_stops_start_up_naming_it(tmp_path):
    result = start_django(PORTAL_VAR_DIR=str(tmp_path), PORTAL_TRUSTED_PROXY="nginx")
    assert "PORTAL_TRUSTED_PROXY='nginx' is not a boolean; use true or false." in result.stderr


def test_a_client_claiming_https_without_a_trusted_proxy_is_still_redirected(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response.url == "https://testserver/login/"
    assert not response.wsgi_request.is_secure()


@pytest.fixture
def portal_under_uvicorn(tmp_path):
    """The portal as the Dockerfile serves it, plain HTTP with the redirect to https on."""
    servers = []

    def start(trusted_proxy: str):
        env = {
            "DJANGO_SETTINGS_MODULE": "portal.settings_test",  # static files from the source
            "SECRET_KEY": django_settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "true", "PORTAL_TRUSTED_PROXY": trusted_proxy,
        }  # fmt: skip
        server = PortalServer(env, tmp_path / f"uvicorn-{trusted_proxy}.log").start(timeout=90)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize(("trusted_proxy", "answer"), [("false", 301), ("true", 200)])
def test_under_uvicorn_only_a_trusted_proxy_makes_a_request_https(
    portal_under_uvicorn, trusted_proxy, answer
):
    """uvicorn must not read the proxy headers itself: by default it trusts them from
    127.0.0.1, which would let any local client claim https whatever the setting."""
    server = portal_under_uvicorn(trusted_proxy)
    response = httpx.get(f"{server.url}/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == answer
    if answer == 301:
        assert response.headers["Location"] == f"https://127.0.0.1:{server.port}/login/"


@pytest.mark.parametrize("launcher", ["Dockerfile", "Procfile"])
def test_uvicorn_is_told_not_to_read_proxy_headers_itself(launcher):
    """Both launchers start portal.serve, and the command it builds says so."""
    from portal.serve import serve_command

    text = (REPO / launcher).read_text()
    assert "portal.serve" in text and "--proxy-headers" not in text.replace("--no-", "")
    command = serve_command({}, cpu_count=2)
    assert "--no-proxy-headers" in command and "--proxy-headers" not in command
