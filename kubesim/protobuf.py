"""Just enough protobuf to read the SelfSubjectAccessReview kubectl 1.32+ sends that way."""

from __future__ import annotations

from .errors import bad_request

MAGIC = b"k8s\x00"  # Kubernetes' protobuf envelope: magic, then a runtime.Unknown message
RESOURCE_ATTRIBUTES = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
NON_RESOURCE_ATTRIBUTES = ("path", "verb")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while at < len(data):
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at
    raise bad_request("the body of the request was not valid protobuf")


def fields(data: bytes) -> dict[int, bytes]:
    """The length-delimited fields of one message (the last of each number wins)."""
    found, at = {}, 0
    while at < len(data):
        key, at = _varint(data, at)
        wire = key & 7
        if wire == 0:
            _, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            found[key >> 3], at = data[at : at + size], at + size
        else:
            raise bad_request("the body of the request was not valid protobuf")
    return found


def _strings(message: bytes, names: tuple[str, ...]) -> dict:
    values = fields(message)
    return {name: values[i + 1].decode() for i, name in enumerate(names) if values.get(i + 1)}


def access_review_spec(body: bytes) -> dict:
    """The `spec` of a protobuf SelfSubjectAccessReview, as its JSON form spells it."""
    if not body.startswith(MAGIC):
        raise bad_request("the body of the request was not a Kubernetes protobuf object")
    review = fields(fields(body[len(MAGIC) :]).get(2, b""))
    spec = fields(review.get(2, b""))
    decoded = {}
    if 1 in spec:
        decoded["resourceAttributes"] = _strings(spec[1], RESOURCE_ATTRIBUTES)
    if 2 in spec:
        decoded["nonResourceAttributes"] = _strings(spec[2], NON_RESOURCE_ATTRIBUTES)
    return decoded
