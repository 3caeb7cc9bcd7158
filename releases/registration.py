"""Registering releases: immutable images of a service, identified by digest."""

import re
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction

from audit import trail
from audit.actions import AuditAction
from catalog.lookups import active_service
from catalog.models import Service
from integrations import registry
from portal.masking import people_text
from releases.build_log import release_changed
from releases.models import Release
from releases.states import ReleaseState

# registry[:port]/path/name : tag @ sha256:64-hex, as the Docker reference grammar has it.
REPOSITORY = r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+"
TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
IMAGE_REFERENCE = re.compile(
    rf"^(?P<repository>{REPOSITORY})(?::(?P<tag>{TAG}))?(?:@(?P<digest>[^@]*))?\Z"
)
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")
GIT_SHA = re.compile(r"^[0-9a-f]{7,40}\Z")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}\Z")


class ReleaseError(ValueError):
    """A release request that cannot be recorded; the message says what to fix."""


@dataclass(frozen=True)
class ImageReference:
    repository: str
    tag: str
    digest: str

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}@{self.digest}"


def parse_image_reference(reference: str) -> ImageReference:
    """Split REPO:TAG@sha256:DIGEST, refusing anything without a tag and a valid digest."""
    example = "e.g. ghcr.io/your-org/vizora-web:2.1.0@sha256:<64 hex digits>"
    match = IMAGE_REFERENCE.match(reference.strip())
    if not match:
        raise ReleaseError(
            f"{reference!r} is not an image reference; use REPO:TAG@DIGEST, {example}."
        )
    if not match["tag"]:
        raise ReleaseError(f"{reference!r} has no tag; use REPO:TAG@DIGEST, {example}.")
    if match["digest"] is None:
        raise ReleaseError(
            f"{reference!r} has no digest; releases are deployed by digest, so add "
            "@sha256:… (docker buildx imagetools inspect or docker push prints it)."
        )
    if not DIGEST.match(match["digest"]):
        raise ReleaseError(
            f"{match['digest']!r} is not a sha256 digest; it must be sha256: and 64 lowercase "
            "hex digits."
        )
    return ImageReference(match["repository"], match["tag"], match["digest"])


def register_release(
    service_name: str,
    version: str,
    image: str,
    *,
    git_sha: str = "",
    notes: str = "",
    actor: User | AnonymousUser | None = None,
) -> Release:
    """Record a ready release of an already built and pushed image.

    Raises ReleaseError for an unknown or archived service, a malformed version,
    image or git sha, an image of another repository, or a version that exists.
    """
    service = active_release_service(service_name)
    check_version(version)
    reference = parse_image_reference(image)
    _check_repository(service, reference)
    check_git_sha(git_sha)
    return _record_ready(service, version, reference, git_sha, notes, actor)


def register_from_registry(
    service_name: str,
    version: str,
    image: str,
    *,
    git_sha: str = "",
    notes: str = "",
    actor: User | AnonymousUser | None = None,
) -> Release:
    """Record a ready release of a pushed `repo:tag`, pinned by the digest the registry holds.

    `image` is REPO:TAG, or REPO:TAG@DIGEST (then the registry must hold that digest for
    the tag). Raises ReleaseError as register_release does, and for a tag the registry
    does not have or a registry that cannot be reached or refuses the portal.
    """
    service = active_release_service(service_name)
    check_version(version)
    check_git_sha(git_sha)
    reference = parse_tagged_image(image)
    _check_repository(service, reference)
    if Release.objects.filter(service=service, version=version).exists():
        raise ReleaseError(duplicate_message(service, version))
    try:
        digest = registry.resolve_digest(reference.repository, reference.tag)
    except registry.RegistryError as error:
        raise ReleaseError(str(error)) from None
    if reference.digest and reference.digest != digest:
        raise ReleaseError(
            f"{reference.repository}:{reference.tag} is {digest} in the registry, not "
            f"{reference.digest}; the tag was pushed again since, so check which image you mean."
        )
    pinned = ImageReference(reference.repository, reference.tag, digest)
    return _record_ready(service, version, pinned, git_sha, notes, actor, resolved=True)


def parse_tagged_image(reference: str) -> ImageReference:
    """Split REPO:TAG or REPO:TAG@DIGEST; the digest is "" when not given."""
    example = "e.g. 127.0.0.1:5000/vizora/web:2.1.0"
    match = IMAGE_REFERENCE.match(reference.strip())
    if not match:
        raise ReleaseError(f"{reference!r} is not an image reference; use REPO:TAG, {example}.")
    if not match["tag"]:
        raise ReleaseError(f"{reference!r} has no tag; use REPO:TAG, {example}.")
    if match["digest"] is not None:
        return parse_image_reference(reference)
    return ImageReference(match["repository"], match["tag"], "")


def _record_ready(
    service: Service,
    version: str,
    reference: ImageReference,
    git_sha: str,
    notes: str,
    actor: User | AnonymousUser | None,
    resolved: bool = False,
) -> Release:
    try:
        with transaction.atomic():
            release = Release.objects.create(
                service=service,
                version=version,
                image=str(reference),
                git_sha=git_sha,
                notes=people_text(notes),  # release pages show them to everyone
                state=ReleaseState.READY,
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
            trail.record(
                AuditAction.RELEASE_REGISTERED,
                actor=actor,
                target=f"release:{service.name}:{version}",
                image=release.image,
                **({"resolved_from_registry": True} if resolved else {}),
            )
            release_changed(release.pk)
    except IntegrityError:
        # Two registrations of one version can race; the unique constraint decides.
        raise ReleaseError(duplicate_message(service, version)) from None
    return release


def _check_repository(service: Service, reference: ImageReference) -> None:
    if reference.repository != service.image_repository:
        raise ReleaseError(
            f"{reference.repository} is not the image repository of {service.name} "
            f"({service.image_repository}); check the service or the image."
        )


def check_git_sha(git_sha: str) -> None:
    if git_sha and not GIT_SHA.match(git_sha):
        raise ReleaseError(f"{git_sha!r} is not a git sha (7 to 40 lowercase hex digits).")


def tag_mismatch_warning(release: Release) -> str | None:
    """A warning when the image tag does not contain the release's version, else None.

    Not a refusal: tags like `latest-amd64` are legitimate, but `web 2.2.0` built
    as `web:2.1.0` is usually a copy-paste slip worth a second look.
    """
    tag = parse_image_reference(release.image).tag
    # Image tags cannot hold `+`, so `2.1.0+5` is usually tagged 2.1.0_5 or 2.1.0-5.
    spellings = {release.version.replace("+", plus) for plus in ("+", "_", "-")}
    if any(spelling in tag for spelling in spellings):
        return None
    return (
        f"the image tag {tag!r} does not contain the version {release.version!r}; check that "
        f"{release.image} is the image of {release.service.name} {release.version}."
    )


def active_release_service(name: str) -> Service:
    return active_service(name, ReleaseError)


def check_version(version: str) -> None:
    if not VERSION.match(version):
        raise ReleaseError(
            f"{version!r} is not a valid version; use letters, digits and . _ + - (e.g. 2.1.0)."
        )


def duplicate_message(service: Service, version: str, doing: str = "register") -> str:
    """Why `version` of `service` cannot be recorded again: what that release is, and for
    `doing` ("register" or "build") what to do instead, with a free version to use."""
    existing = Release.objects.filter(service=service, version=version).first()
    what = _what_exists(existing)
    free = next_free_version(service, version)
    example = f", e.g. {free}" if free else ""
    state = existing.state if existing is not None else None
    subject = f"{service.name} {version} already exists ({what})"
    if state == ReleaseState.FAILED:  # only an image registration gets here: builds redo it
        return (
            f"{subject}; build it again under {version} (a failed build does not use up its "
            f"version), or register the new image under a new version{example}."
        )
    if doing == "build" and state == ReleaseState.BUILDING:
        return (
            f"{subject}; wait for its build to end (if it fails, {version} can be built "
            f"again), or build under a new version{example}."
        )
    if doing == "build":
        never = "a version that was ever ready is never reused"
        return f"{subject}; {never} — build under a new version{example}."
    instead = f"releases are immutable, so register the new image under a new version{example}"
    return f"{service.name} {version} already exists ({what}; {instead})."


def _what_exists(release: Release | None) -> str:
    if release is None:  # deleted since the insert failed: only the race is left to say
        return "it was just recorded by someone else"
    if release.state == ReleaseState.FAILED:
        return "its build failed" if release.git_ref or release.build_started_at else "it failed"
    if release.state == ReleaseState.BUILDING:
        return "it is building now"
    if release.git_ref or release.build_started_at:
        return "it was built and is ready"
    return "it is already registered"


def next_free_version(service: Service, version: str) -> str:
    """`version` with its last number raised until no release has it ("" without a number)."""
    match = re.search(r"(\d+)(?!.*\d)", version)
    if match is None:
        return ""
    taken = set(Release.objects.filter(service=service).values_list("version", flat=True))
    number = int(match[1])
    for _ in range(100):
        number += 1
        candidate = f"{version[: match.start(1)]}{number}{version[match.end(1) :]}"
        if candidate not in taken:
            return candidate
    return ""
