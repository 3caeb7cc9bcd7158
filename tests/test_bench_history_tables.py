"""The benchmarks' history generator (bench/gen_history.py) empties every table of history
before it writes one: the list comes from the models, so a new model that points at a
release or a deployment (as the build log once did) cannot make its TRUNCATE fail."""

import sys
from pathlib import Path

from django.apps import apps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from gen_history import history_tables


def test_every_table_pointing_at_a_release_a_deployment_or_a_lane_is_emptied():
    tables = set(history_tables())
    assert {"deployments_release", "deployments_deployment", "deployments_lane"} <= tables
    for model in apps.get_models():
        for field in model._meta.get_fields():
            points_at_history = (
                field.is_relation
                and field.many_to_one
                and field.related_model is not None
                and field.related_model._meta.db_table in tables
            )
            if points_at_history:
                assert model._meta.db_table in tables, f"{model.__name__}.{field.name}"


def test_the_build_log_and_message_deliveries_are_among_them():
    tables = set(history_tables())
    assert {"deployments_buildlogline", "deployments_buildattempt"} <= tables
    assert {"deployments_deliveryattempt", "deployments_auditevent"} <= tables


def test_the_catalog_and_the_tokens_are_kept():
    tables = set(history_tables())
    assert not tables & {"environments_service", "environments_environment", "tokens_apitoken"}
