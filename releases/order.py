"""Which of two releases of a service is older: the one rule for promotions, rollbacks
and the "What changes" list.

Versions that are semantic versions compare by SemVer 2.0 precedence (pre-releases
before their release, numeric identifiers numerically and below alphanumeric ones,
build metadata ignored); a "v" prefix is allowed. When either version is not a
semantic version, or both have the same precedence, the release registered first is
the older one.
"""

import functools
import re
from collections.abc import Iterable

from releases.models import Release

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def semver_key(version: str) -> tuple | None:
    """A sort key giving SemVer 2.0 precedence, or None when `version` is no semver."""
    found = _SEMVER.match(version)
    if found is None:
        return None
    major, minor, patch, pre = found.groups()
    core = (int(major), int(minor), int(patch))
    if pre is None:
        return (*core, 1, ())  # a release ranks above each of its pre-releases
    return (*core, 0, tuple(_identifier(part) for part in pre.split(".")))


def _identifier(part: str) -> tuple:
    # Numeric identifiers rank below alphanumeric ones; a longer list of equal
    # identifiers ranks higher, which tuple comparison gives.
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


def compare(a: Release, b: Release) -> int:
    """-1 when `a` is older than `b`, 1 when newer, 0 for the same release."""
    if a.pk == b.pk:
        return 0
    key_a, key_b = semver_key(a.version), semver_key(b.version)
    if key_a is not None and key_b is not None and key_a != key_b:
        return -1 if key_a < key_b else 1
    registered_a, registered_b = (a.created_at, a.pk), (b.created_at, b.pk)
    return -1 if registered_a < registered_b else 1


def is_older(release: Release, than: Release) -> bool:
    return compare(release, than) < 0


def newest_first(releases: Iterable[Release]) -> list[Release]:
    return sorted(releases, key=functools.cmp_to_key(compare), reverse=True)


def between(releases: Iterable[Release], running: Release | None, target: Release) -> list[Release]:
    """The releases newer than `running` up to and including `target`, newest first
    (every release up to `target` when nothing runs)."""
    return newest_first(
        r for r in releases if not is_older(target, r) and (running is None or is_older(running, r))
    )
