"""Small helpers over Kubernetes objects held as plain dicts."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
import re
import uuid
from dataclasses import dataclass

# The alphabet Kubernetes uses for generated name suffixes and pod-template hashes.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(moment: dt.datetime | None = None) -> str:
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_timestamp(moment: dt.datetime | None = None) -> str:
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def new_uid() -> str:
    return str(uuid.uuid4())


def random_suffix(length: int = 5) -> str:
    return "".join(random.choice(SAFE_ALPHABET) for _ in range(length))


def deep_copy(obj):
    return copy.deepcopy(obj)


def drop_nulls(value):
    """Remove JSON nulls recursively, as the API server does when it decodes into typed structs."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value


def drop_empty(value):
    """Treat empty lists and maps as absent, so two equivalent templates compare equal."""
    if isinstance(value, dict):
        cleaned = {k: drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    return value


def template_without_hash(template: dict) -> dict:
    template = copy.deepcopy(template)
    labels = template.get("metadata", {}).get("labels", {})
    labels.pop(HASH_LABEL, None)
    return drop_empty(template)


def templates_equal(a: dict, b: dict) -> bool:
    return template_without_hash(a) == template_without_hash(b)


def template_hash(template: dict) -> str:
    """A stable 10-character hash in the Kubernetes safe alphabet."""
    canonical = json.dumps(template_without_hash(template), sort_keys=True).encode()
    number = int.from_bytes(hashlib.sha256(canonical).digest()[:8], "big")
    chars = []
    for _ in range(10):
        number, index = divmod(number, len(SAFE_ALPHABET))
        chars.append(SAFE_ALPHABET[index])
    return "".join(chars)


def meta(obj: dict) -> dict:
    return obj.setdefault("metadata", {})


def key_of(obj: dict) -> tuple[str, str]:
    metadata = obj.get("metadata", {})
    return metadata.get("namespace", ""), metadata.get("name", "")


def controller_uid(obj: dict) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences", []):
        if ref.get("controller"):
            return ref.get("uid")
    return None


def owner_reference(owner: dict) -> dict:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def revision_of(obj: dict) -> int:
    try:
        return int(obj.get("metadata", {}).get("annotations", {}).get(REVISION, "0"))
    except ValueError:
        return 0


def set_condition(status: dict, condition: dict) -> bool:
    """Replace the condition of the same type; return True when anything changed."""
    conditions = status.setdefault("conditions", [])
    for index, existing in enumerate(conditions):
        if existing.get("type") == condition["type"]:
            if all(existing.get(k) == v for k, v in condition.items() if "Time" not in k):
                return False
            conditions[index] = condition
            return True
    conditions.append(condition)
    return True


def get_condition(obj: dict, kind: str) -> dict | None:
    for condition in obj.get("status", {}).get("conditions", []):
        if condition.get("type") == kind:
            return condition
    return None


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str
    digest: str

    @property
    def version(self) -> str:
        return self.tag or (self.digest[:19] if self.digest else "latest")


_IMAGE = re.compile(r"^(?P<repo>.+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[\w:+.-]+))?$")


def parse_image(image: str) -> ImageRef:
    """Split `repo:tag@sha256:...`; the tag is what picks the simulated behaviour."""
    match = _IMAGE.match(image or "")
    if not match:
        return ImageRef(image or "", "", "")
    repo, tag = match["repo"], match["tag"] or ""
    if "/" in tag:  # "host:5000/repo" without tag: the colon belonged to the host
        repo, tag = f"{repo}:{tag}", ""
    return ImageRef(repo, tag, match["digest"] or "")
