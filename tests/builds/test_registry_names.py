"""Which registry an image repository names, and how the portal speaks to it."""

import pytest

from integrations.registry import RepositoryName


@pytest.mark.parametrize(
    ("repository", "host", "path", "base_url"),
    [
        ("127.0.0.1:5000/vizora/web", "127.0.0.1:5000", "vizora/web", "http://127.0.0.1:5000"),
        ("127.0.0.2:5000/web", "127.0.0.2:5000", "web", "http://127.0.0.2:5000"),
        ("localhost:5000/web", "localhost:5000", "web", "http://localhost:5000"),
        ("[::1]:5000/web", "[::1]:5000", "web", "http://[::1]:5000"),
        ("ghcr.io/your-org/vizora-web", "ghcr.io", "your-org/vizora-web", "https://ghcr.io"),
        ("your-org/web", "registry-1.docker.io", "your-org/web", "https://registry-1.docker.io"),
        ("busybox", "registry-1.docker.io", "library/busybox", "https://registry-1.docker.io"),
    ],
)
def test_a_repository_names_its_registry_and_loopback_ones_are_spoken_to_over_http(
    repository, host, path, base_url
):
    name = RepositoryName.parse(repository)
    assert (name.host, name.path, name.base_url) == (host, path, base_url)
