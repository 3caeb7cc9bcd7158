"""No dead links: a checklist item's link comes from the catalog with the deployment's
time range filled in, and the demo's points at its own Prometheus graph page, which
answers for that range. Without a link in the catalog there is none."""

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from catalog.catalog_file import CatalogInvalid, parse_catalog
from catalog.models import ChecklistPhase, CheckMode
from deployments.models import ChecklistItem
from deployments.states import DeploymentState
from tests.checks.prometheus_fixture import PrometheusServer
from tests.factories import make_deployment, make_environment, make_release, make_service
from web.item_links import filled_link, item_link

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent
PROMETHEUS_GRAPH = (
    "http://127.0.0.1:7090/graph?g0.expr=up%7Bnamespace%3D%22{namespace}%22%7D"
    "&g0.range_input={range}&g0.end_input={end}&from={start}"
)


@pytest.fixture
def ended():
    """web 2.0.0 in production, started 18:03:20 and ended 18:19:40 UTC."""
    release = make_release(make_service("web"), "2.0.0")
    return make_deployment(
        release, make_environment("production"), state=DeploymentState.SUCCEEDED,
        started_at=datetime(2026, 12, 7, 18, 3, 20, tzinfo=UTC),
        finished_at=datetime(2026, 12, 7, 18, 19, 40, tzinfo=UTC),
    )  # fmt: skip


def verify_item(deployment, link: str = "") -> ChecklistItem:
    return ChecklistItem.objects.create(
        deployment=deployment, position=1, phase=ChecklistPhase.POST, mode=CheckMode.MANUAL,
        text="Verify metrics in Grafana", link=link,
    )  # fmt: skip


def test_a_prometheus_link_gets_the_deployments_range_in_whole_minutes(ended):
    link = filled_link(PROMETHEUS_GRAPH, ended)

    query = parse_qs(urlsplit(link).query)
    assert query["g0.expr"] == ['up{namespace="vizora-production"}']
    assert query["g0.range_input"] == ["17m"], "18:03 to 18:20"
    assert query["g0.end_input"] == ["2026-12-07 18:20"]
    assert query["from"] == ["2026-12-07 18:03"]


def test_a_range_of_whole_hours_is_given_in_hours(ended):
    ended.started_at = datetime(2026, 12, 7, 17, 20, tzinfo=UTC)
    ended.finished_at = datetime(2026, 12, 7, 18, 20, tzinfo=UTC)

    assert filled_link("https://p.example/graph?r={range}", ended) == "https://p.example/graph?r=1h"


def test_grafana_placeholders_keep_the_exact_epoch_milliseconds(ended):
    link = filled_link("https://grafana.example/d/x?from={from}&to={to}", ended)

    assert link == "https://grafana.example/d/x?from=1796666600000&to=1796667580000"


def test_an_item_without_a_link_in_the_catalog_has_none(ended):
    assert item_link(verify_item(ended)) == ""


def test_the_catalog_refuses_a_link_with_an_unknown_placeholder_naming_the_known_ones():
    catalog = yaml.safe_load((REPO / "tests" / "catalogs" / "minimal.yaml").read_text())
    catalog["checklists"] = [
        {
            "name": "release",
            "items": [
                {"phase": "post", "text": "Look", "mode": "manual",
                 "link": "https://p.example/graph?end={until}"},
            ],
        }
    ]  # fmt: skip
    with pytest.raises(CatalogInvalid) as raised:
        parse_catalog(yaml.safe_dump(catalog), "bad.yaml")
    assert any(
        "unknown placeholder {until}" in line and "{start}, {end}, {range}" in line
        for line in raised.value.lines
    ), raised.value.lines


def test_the_demo_catalogs_verify_metrics_link_opens_its_prometheus_graph_page(ended, tmp_path):
    catalog = yaml.safe_load((REPO / "examples" / "vizora.yaml").read_text())
    items = [item for checklist in catalog["checklists"] for item in checklist["items"]]
    template = next(item["link"] for item in items if item["text"] == "Verify metrics in Grafana")
    link = filled_link(template, ended)
    assert link.startswith("http://127.0.0.1:7090/graph?")
    query = parse_qs(urlsplit(link).query)
    assert (query["g0.range_input"], query["g0.end_input"]) == (["17m"], ["2026-12-07 18:20"])
    assert 'namespace="vizora-production"' in query["g0.expr"][0]

    with PrometheusServer(tmp_path / "prometheus", targets=[]) as prometheus:
        served = link.replace("http://127.0.0.1:7090", prometheus.url)
        page = httpx.get(served, follow_redirects=True, timeout=5)
        expression = httpx.get(
            f"{prometheus.url}/api/v1/query", params={"query": query["g0.expr"][0]}, timeout=5
        )

    assert page.status_code == 200
    assert "/graph" in str(page.url) and "g0.range_input=17m" in str(page.url)
    assert expression.json()["status"] == "success", expression.text
