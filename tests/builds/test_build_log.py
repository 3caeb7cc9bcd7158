"""A release's build output: gap-free numbered lines, cleaned like deployment output,
announced on `release:<id>` only once committed."""

import pytest
from django.db import transaction

from live import announce
from releases.build_log import emit_build_line, emit_build_lines, release_changed
from releases.models import BuildLogLine, Release
from releases.states import ReleaseState
from tests.factories import make_service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    messages = []
    announce.observers.append(lambda channel, payload: messages.append((channel, payload)))
    yield messages
    announce.observers.clear()


@pytest.fixture
def building():
    return Release.objects.create(
        service=make_service("web"), version="3.0.0", state=ReleaseState.BUILDING
    )


def test_lines_are_numbered_from_one_without_gaps_across_calls(building):
    emit_build_lines(building.pk, ["Step 1/3 : FROM scratch", "Step 2/3 : COPY busybox /bin/"])
    emit_build_line(building.pk, "Step 3/3 : CMD httpd\nSuccessfully built 154aad1998dd")
    lines = list(BuildLogLine.objects.filter(release=building).values_list("seq", "text"))
    assert [seq for seq, _ in lines] == [1, 2, 3, 4]
    assert lines[3][1] == "Successfully built 154aad1998dd"


def test_lines_are_cleaned_and_secrets_masked(building):
    emit_build_line(building.pk, "\x1b[31mred\x1b[0m password=hunter2hunter2")
    text = BuildLogLine.objects.get(release=building).text
    assert "\x1b" not in text and "red" in text
    assert "hunter2hunter2" not in text


def test_the_page_hears_of_lines_only_after_commit(building, heard):
    channel = announce.release_channel(building.pk)
    with transaction.atomic():
        emit_build_line(building.pk, "Step 1/1 : FROM scratch")
        assert heard == []
    assert heard == [(channel, "log:1")]


def test_a_rolled_back_state_change_announces_nothing(building, heard):
    with pytest.raises(RuntimeError), transaction.atomic():
        release_changed(building.pk)
        raise RuntimeError("the build's transaction failed")
    assert heard == []
    with transaction.atomic():
        release_changed(building.pk)
    assert heard == [(announce.release_channel(building.pk), "state")]


def test_nothing_is_stored_for_no_lines(building, heard):
    assert emit_build_lines(building.pk, []) == []
    assert heard == []
