"""Kubernetes `Status` errors: every failure leaves the server as one of these."""

from __future__ import annotations

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}


class ApiError(Exception):
    """An error the API answers with a `Status` object and an HTTP code."""

    def __init__(self, code: int, message: str, reason: str = "", details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict:
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        status["details"] = details
    return status


def not_found(resource, name: str) -> ApiError:
    return ApiError(
        404,
        f'{resource.qualified} "{name}" not found',
        details={"name": name, "group": resource.group, "kind": resource.plural},
    )


def already_exists(resource, name: str) -> ApiError:
    return ApiError(
        409,
        f'{resource.qualified} "{name}" already exists',
        reason="AlreadyExists",
        details={"name": name, "group": resource.group, "kind": resource.plural},
    )


def conflict(resource, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {resource.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details={"name": name, "group": resource.group, "kind": resource.plural},
    )


# A cause's reason, by how its message starts (as field.ErrorType names them).
CAUSE_REASONS = {
    "Required value": "FieldValueRequired",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Forbidden": "FieldValueForbidden",
}


def _cause_reason(message: str) -> str:
    prefix = next((p for p in CAUSE_REASONS if message.startswith(p)), "")
    return CAUSE_REASONS.get(prefix, "FieldValueInvalid")


def invalid(resource, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 with field causes, worded like the API server's validation errors."""
    text = ", ".join(f"{field}: {message}" for field, message in causes)
    kind = resource.kind if not resource.group else f"{resource.kind}.{resource.group}"
    details = {
        "name": name,
        "group": resource.group,
        "kind": resource.kind,
        "causes": [
            {"reason": _cause_reason(message), "message": message, "field": field}
            for field, message in causes
        ],
    }
    return ApiError(422, f'{kind} "{name}" is invalid: {text}', details=details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
