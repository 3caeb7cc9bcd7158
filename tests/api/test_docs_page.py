"""The API's docs page reads as a page: inline marks rendered, shapes as field tables,
each answer listed once."""

import json
import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(client):
    return client.get("/api/v1/docs").content.decode()


def test_descriptions_show_code_and_emphasis_not_markdown(page):
    assert "<code>Authorization: Bearer &lt;token&gt;</code>" in page
    assert "<em>Your tokens</em>" in page
    assert "`Authorization" not in page and "*Your tokens*" not in page


def test_a_shape_is_a_table_of_its_fields_saying_which_are_required(page):
    shape = page.split('id="schema-DeploymentIn"', 1)[1].split("</article>", 1)[0]
    rows = re.findall(r"<tr><td><code>(\w+)</code></td><td>([^<]+)</td><td>(\w+)</td>", shape)
    assert [(name, required) for name, _, required in rows] == [
        ("service", "required"), ("version", "required"), ("environment", "required"),
        ("confirm_repromotion", "optional"), ("repromotion_reason", "optional"),
    ]  # fmt: skip


def test_each_answer_of_an_endpoint_is_listed_once(page):
    for answers in re.findall(r"<p>Answers: (.*?)</p>", page):
        statuses = re.findall(r"<code>(\d{3})</code>", answers)
        assert len(statuses) == len(set(statuses)), answers


def no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in the document: {keys}"
    return dict(pairs)


def test_the_document_has_no_duplicate_keys_and_a_new_deployment_links_its_follow_ups(client):
    raw = client.get("/api/v1/openapi.json").content
    document = json.loads(raw, object_pairs_hook=no_duplicate_keys)
    created = document["paths"]["/api/v1/deployments"]["post"]["responses"]["201"]
    assert sorted(created["links"]) == [
        "CancelDeployment", "DecideDeployment", "GetDeployment", "GetDeploymentLog",
    ]  # fmt: skip
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("DeploymentOut")
