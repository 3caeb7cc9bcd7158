"""The catalog's JSON Schema for editors is generated from the pydantic models the
loader validates with (`manage.py catalog_schema`), and the committed copy is current;
an error pydantic finds deep in the file is reported on the line of its key or value."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.catalog_file import catalog_json_schema
from catalog.kinds import FOLLOWABLE_STEP_KINDS, CheckKindName
from tests.test_catalog_errors import assert_reported, broken, errors_of

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "catalog.schema.json"


def printed_schema() -> str:
    out = StringIO()
    call_command("catalog_schema", stdout=out)
    return out.getvalue()


def test_the_committed_schema_is_what_the_command_prints():
    assert COMMITTED.read_text() == printed_schema(), (
        "docs/catalog.schema.json is stale: run "
        ".venv/bin/python manage.py catalog_schema --output docs/catalog.schema.json"
    )


def test_output_writes_the_same_schema_to_a_file(tmp_path):
    path = tmp_path / "catalog.schema.json"
    call_command("catalog_schema", "--output", str(path), stdout=StringIO())
    assert path.read_text() == printed_schema()


def test_the_schema_describes_the_sections_and_refuses_unknown_keys():
    schema = json.loads(printed_schema())
    assert schema == catalog_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(schema["properties"]) == ["clusters", "checklists", "services", "environments"]
    assert schema["required"] == ["clusters", "services", "environments"]
    assert schema["additionalProperties"] is False
    assert all(model["additionalProperties"] is False for model in schema["$defs"].values())
    freeze = schema["$defs"]["FreezeWindow"]
    assert freeze["required"] == ["name", "from", "to"]  # the key as written, not from_


def test_the_schema_names_the_enums_kinds_and_each_kinds_params():
    item = json.loads(printed_schema())["$defs"]["ChecklistItem"]
    (check_kinds, _null) = item["properties"]["check"]["anyOf"]
    assert check_kinds["enum"] == list(CheckKindName.values)
    params_by_kind = {
        rule["if"]["properties"]["check"]["const"]: rule["then"]["properties"]["params"]
        for rule in item["allOf"]
    }
    assert list(params_by_kind) == list(CheckKindName.values)
    assert params_by_kind["backup_fresh"]["required"] == ["cronjob"]
    assert params_by_kind["step"]["properties"]["step"]["enum"] == list(FOLLOWABLE_STEP_KINDS)
    assert params_by_kind["release_built"]["properties"] == {}
    assert "rpo" in params_by_kind["backup_fresh"]["description"]


def test_the_example_catalog_points_editors_at_the_committed_schema():
    first_line = (ROOT / "examples" / "vizora.yaml").read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../docs/catalog.schema.json"
    assert (ROOT / "examples" / first_line.split("=", 1)[1]).resolve() == COMMITTED


# pydantic validates a plain tree; its errors' locations are mapped back to the lines.
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(
            "        containers: [web]\n",
            "        containers:\n          - web\n          - 42  #!\n",
            "services[0].workloads[0].containers[1]: expected a name, got an integer",
            id="list-item-in-a-list-item",
        ),
        pytest.param(
            "    image: ghcr.io/your-org/vizora-web\n",
            "    image: ghcr.io/your-org/vizora-web\n    build:\n      context: .  #!\n",
            "services[0].build: missing required key 'dockerfile'",
            id="missing-key-of-a-nested-mapping",
        ),
        pytest.param(
            'urls: {app: "http://app.dev.vizora.com"}\n',
            "urls:\n      app: http://app.dev.vizora.com\n      API: http://api.dev  #!\n",
            "environments[0].urls.API: key invalid name 'API' (a slug: lowercase letters, "
            "digits and inner hyphens, at most 63 characters)",
            id="key-of-a-mapping",
        ),
        pytest.param(
            "max_age: 26h}\n",
            "max_age: 26h,\n                 since: 1h}  #!\n",
            "checklists[0].items[1].params.since: unknown key 'since' "
            "(expected one of: cronjob, max_age)",
            id="key-of-params-on-a-continued-line",
        ),
    ],
)
def test_a_nested_error_is_reported_on_its_line(old, new, message):
    assert_reported(broken(old, new), message)


def test_a_value_written_below_its_key_is_reported_on_the_value_line():
    text = broken(
        "    rollout_timeout: 5m\n",
        "    rollout_timeout: 5m\n    approvals:\n      group: lead\n      required:\n"
        "        - 1  #!\n",
    )
    assert_reported(text, "environments[1].approvals.required: expected an integer, got a list")


def test_a_null_optional_key_takes_its_default_and_a_null_required_key_is_an_error():
    text = broken("    rollout_timeout: 5m\n", "    rollout_timeout: ~\n    cluster: ~  #!\n")
    text = text.replace("    cluster: prod\n", "")
    assert_reported(text, "environments[1].cluster: expected a name, got null")
    assert len(errors_of(text)) == 1
