"""Which release is older: SemVer 2.0 precedence, else the order of registration."""

from datetime import UTC, datetime, timedelta

from releases.models import Release
from releases.order import between, is_older, newest_first, semver_key

START = datetime(2026, 12, 1, tzinfo=UTC)


def releases(*versions: str) -> list[Release]:
    """Unsaved releases registered in the order given."""
    return [
        Release(pk=n, version=version, created_at=START + timedelta(minutes=n))
        for n, version in enumerate(versions, start=1)
    ]


def test_semver_precedence_orders_pre_releases_as_semver_2_0_says():
    # The example of semver.org §11, registered in reverse so creation order disagrees.
    ordered = [
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
        "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0-rc1",
    ]  # fmt: skip
    shuffled = releases(*reversed(ordered))
    assert [r.version for r in newest_first(shuffled)] == list(reversed(ordered))


def test_a_hotfix_registered_later_is_still_older_than_the_next_minor():
    v110, hotfix = releases("1.1.0", "1.0.1")
    assert is_older(hotfix, v110) and not is_older(v110, hotfix)


def test_build_metadata_and_a_v_prefix_do_not_change_precedence():
    assert semver_key("v1.2.3") == semver_key("1.2.3") == semver_key("1.2.3+build.7")


def test_versions_that_are_no_semver_fall_back_to_the_order_of_registration():
    nightly, tagged = releases("nightly-20261201", "1.0.0")
    assert semver_key("nightly-20261201") is None and semver_key("1.02.0") is None
    assert is_older(nightly, tagged)
    assert not is_older(tagged, nightly)


def test_equal_precedence_falls_back_to_registration():
    first, second = releases("1.0.0+a", "1.0.0+b")
    assert is_older(first, second)


def test_between_lists_what_a_promotion_brings_newest_first_including_the_target():
    old, hotfix, target, newer = releases("1.0.0", "1.0.5", "1.1.0", "1.2.0")
    everything = [old, newer, target, hotfix]
    assert between(everything, old, target) == [target, hotfix]
    assert between(everything, None, hotfix) == [hotfix, old]
