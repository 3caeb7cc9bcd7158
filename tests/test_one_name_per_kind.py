"""Step kinds and check kinds are defined once, in catalog/kinds.py.

The catalog validates against those enums and the engine imports them, so there is
no copy to keep equal: these tests prove the catalog accepts exactly the enum's names
and that every check kind is either run by a check or filled by the engine.
"""

from pathlib import Path

import pytest

from catalog import kinds
from catalog.catalog_file import CatalogInvalid, parse_catalog
from catalog.catalog_file.check_kinds import CHECK_KINDS
from catalog.kinds import FOLLOWABLE_STEP_KINDS, CheckKindName, StepKind
from deployments import states
from deployments.checks.registry import CHECKS, FILLED_KINDS

MINIMAL = (Path(__file__).parent / "catalogs" / "minimal.yaml").read_text()
BACKUP_ITEM = "check: backup_fresh\n        params: {cronjob: postgres-backup, max_age: 26h}\n"


def catalog_following(step: str) -> str:
    assert MINIMAL.count(BACKUP_ITEM) == 1
    return MINIMAL.replace(BACKUP_ITEM, f"check: step\n        params: {{step: {step}}}\n")


def catalog_checking(kind: str) -> str:
    assert MINIMAL.count(BACKUP_ITEM) == 1
    return MINIMAL.replace(BACKUP_ITEM, f"check: {kind}\n")


def test_the_engine_names_the_catalogs_step_kinds():
    assert states.StepKind is kinds.StepKind


@pytest.mark.parametrize("step", FOLLOWABLE_STEP_KINDS)
def test_the_catalog_accepts_a_step_item_following_each_followable_step(step):
    parse_catalog(catalog_following(step), "steps.yaml")


@pytest.mark.parametrize("step", ["recheck", "deploy"])
def test_the_catalog_refuses_a_step_item_following_any_other_name(step):
    with pytest.raises(CatalogInvalid) as raised:
        parse_catalog(catalog_following(step), "steps.yaml")
    expected = ", ".join(FOLLOWABLE_STEP_KINDS)
    assert f"unknown step '{step}' (expected one of: {expected})" in "\n".join(raised.value.lines)


def test_only_recheck_is_not_followable():
    assert set(StepKind) - set(FOLLOWABLE_STEP_KINDS) == {StepKind.RECHECK}


def test_the_catalog_describes_exactly_the_enums_check_kinds():
    assert list(CHECK_KINDS) == list(CheckKindName)


def test_the_catalog_refuses_a_check_kind_the_enum_does_not_name():
    with pytest.raises(CatalogInvalid) as raised:
        parse_catalog(catalog_checking("disk_free"), "kinds.yaml")
    expected = ", ".join(CheckKindName.values)
    assert f"unknown check kind 'disk_free' (expected one of: {expected})" in "\n".join(
        raised.value.lines
    )


def test_every_check_kind_is_run_by_a_check_or_filled_by_the_engine_never_both():
    assert set(CHECKS) | FILLED_KINDS == set(CheckKindName)
    assert set(CHECKS) & FILLED_KINDS == set()
