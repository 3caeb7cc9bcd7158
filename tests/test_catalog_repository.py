"""A service's `repository` is something git can clone and a page can show safely: an
http(s) URL, an ssh:// URL, an scp-style address (git@host:org/repo.git) or a path.
Anything else (`javascript:alert(1)`) is refused with its line; only http(s) ones are
rendered as links."""

import json

import pytest

from catalog.catalog_file import parse_catalog
from catalog.models import Service
from tests.factories import make_service
from tests.test_catalog_errors import assert_reported, broken

IMAGE_LINE = "    image: ghcr.io/your-org/vizora-web\n"
ACCEPTED = (
    "an http(s) URL, an ssh:// URL, an address like git@github.com:org/repo.git, "
    "or a path to a local repository"
)


def with_repository(value: str, mark: str = "") -> str:
    return broken(IMAGE_LINE, f"{IMAGE_LINE}    repository: {value}{mark}\n")


@pytest.mark.parametrize(
    "value",
    [
        "https://github.com/your-org/vizora",
        "http://git.internal:8080/vizora.git",
        "ssh://git@github.com/your-org/vizora.git",
        "ssh://git@git.internal:2222/vizora.git",
        "git@github.com:your-org/vizora.git",
        "var/demo-git/web",
        "./repos/web",
        "/srv/git/web",
        "~/git/web",
    ],
)
def test_a_url_an_ssh_address_or_a_path_is_accepted(value):
    (service,) = parse_catalog(with_repository(json.dumps(value)), "ok.yaml").services
    assert service["repository"] == value


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://example.com/repo.git",
        "https://",
        "ssh://",
        " https://github.com/your-org/vizora",
        "web\trepo",
    ],
    ids=["javascript", "javascript-case", "data", "file", "ftp", "no-host", "ssh-no-host",
         "leading-space", "control"],
)  # fmt: skip
def test_any_other_repository_is_refused_with_its_line_and_what_is_accepted(value):
    text = with_repository(json.dumps(value), "  #!")  # a JSON string is YAML too
    assert_reported(
        text, f"services[0].repository: repository {value!r} cannot be cloned: use {ACCEPTED}"
    )


@pytest.fixture
def signed_in(client, request):
    def sign_in(persona: str):
        client.force_login(request.getfixturevalue(persona))
        return client

    return sign_in


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "oscar"])
def test_only_an_http_repository_is_a_link_on_the_service_page(signed_in, persona):
    service = make_service("web")
    client = signed_in(persona)
    Service.objects.filter(pk=service.pk).update(repository="https://github.com/your-org/vizora")
    page = client.get("/services/web/").content.decode()
    assert '<a href="https://github.com/your-org/vizora">' in page
    # A value stored before the catalog refused it (or by hand) is shown, never linked.
    Service.objects.filter(pk=service.pk).update(repository="javascript:alert(1)")
    page = client.get("/services/web/").content.decode()
    assert 'href="javascript:' not in page and "javascript:alert(1)" in page
    Service.objects.filter(pk=service.pk).update(repository="git@github.com:your-org/vizora.git")
    page = client.get("/services/web/").content.decode()
    assert 'href="git@' not in page and "git@github.com:your-org/vizora.git" in page
