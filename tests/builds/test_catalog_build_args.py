"""The catalog's `build.args`: synced onto the service as the build's --build-arg values,
text as written; a name docker would refuse is an error on its line."""

from pathlib import Path

import pytest

from catalog.catalog_file import CatalogInvalid, parse_catalog, sync_catalog
from catalog.models import Service

MINIMAL = (Path(__file__).parents[1] / "catalogs" / "minimal.yaml").read_text()
SERVICE = "    image: ghcr.io/your-org/vizora-web\n"


def with_build(lines: str) -> str:
    assert MINIMAL.count(SERVICE) == 1
    return MINIMAL.replace(SERVICE, SERVICE + "    build:\n      dockerfile: Dockerfile\n" + lines)


@pytest.mark.django_db
def test_build_args_are_synced_onto_the_service_as_text(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(with_build("      args:\n        NODE_ENV: production\n        WORKERS: 4\n"))
    sync_catalog(str(path))
    assert Service.objects.get(name="web").build_args == {"NODE_ENV": "production", "WORKERS": "4"}


@pytest.mark.django_db
def test_a_service_without_build_args_has_none(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(with_build(""))
    sync_catalog(str(path))
    assert Service.objects.get(name="web").build_args == {}


def test_a_build_arg_name_docker_would_refuse_is_reported_on_its_line():
    text = with_build("      args:\n        9LIVES: x\n")
    with pytest.raises(CatalogInvalid) as raised:
        parse_catalog(text, "bad.yaml")
    line = text.splitlines().index("        9LIVES: x") + 1
    assert any(
        error.startswith(f"bad.yaml:{line}: ") and "invalid build argument name '9LIVES'" in error
        for error in raised.value.lines
    ), raised.value.lines
