"""Reading a check's params (the catalog validated them; a check still refuses nonsense
with evidence rather than a traceback)."""

from catalog.catalog_file.values import parse_duration


class ParamError(ValueError):
    """A param the check cannot use; the message names it."""


def number_param(params: dict, name: str, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ParamError(f"param {name} must be a number of at least 0, not {value!r}")
    return float(value)


def duration_text(params: dict, name: str, default: str) -> str:
    """A duration param as written (30s, 5m, 1h30m: valid PromQL durations too)."""
    value = params.get(name, default)
    try:
        parse_duration(str(value))
    except ValueError as error:
        raise ParamError(f"param {name}: {error}") from None
    return str(value)
