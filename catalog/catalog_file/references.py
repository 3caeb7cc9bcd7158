"""Checks across sections: unique names, references that resolve, no promotion cycles.

They run on whatever passed the per-key checks, so one run still reports
everything; a value that failed its own check is simply not looked at here.
"""

from collections.abc import Iterable

from catalog.catalog_file.errors import Context
from catalog.catalog_file.tree import Entry
from catalog.kinds import CheckKindName

SECTIONS = (
    ("clusters", "cluster"),
    ("checklists", "checklist"),
    ("services", "service"),
    ("environments", "environment"),
)


def check_references(catalog: Entry, ctx: Context) -> None:
    for section, kind in SECTIONS:
        report_duplicate_names(catalog.get(section, []), kind, ctx)
    environments = catalog.get("environments", [])
    report_unknown_references(environments, "cluster", names(catalog.get("clusters", [])), ctx)
    report_unknown_references(environments, "checklist", names(catalog.get("checklists", [])), ctx)
    report_unknown_references(environments, "promotes_from", names(environments), ctx)
    report_promotion_cycles(environments, ctx)
    report_undefined_smoke_urls(catalog.get("services", []), environments, ctx)
    report_undefined_tls_urls(catalog.get("checklists", []), environments, ctx)


def names(entries: Iterable[Entry]) -> list[str]:
    return list(dict.fromkeys(entry["name"] for entry in entries if "name" in entry))


def report_duplicate_names(entries: list[Entry], kind: str, ctx: Context) -> None:
    first_lines: dict[str, int] = {}
    for entry in entries:
        name = entry.get("name")
        if name is None:
            continue
        if name in first_lines:
            message = f"duplicate {kind} name '{name}' (first defined at line {first_lines[name]})"
            ctx.error(entry.line_of("name"), entry.path_of("name"), message)
        else:
            first_lines[name] = entry.line_of("name")


def report_unknown_references(
    environments: list[Entry], key: str, known: list[str], ctx: Context
) -> None:
    what = "environment" if key == "promotes_from" else key
    for entry in environments:
        name = entry.get(key)
        if name is not None and name not in known:
            defined = ", ".join(known) or "none"
            message = f"unknown {what} '{name}' (defined: {defined})"
            ctx.error(entry.line_of(key), entry.path_of(key), message)


def report_promotion_cycles(environments: list[Entry], ctx: Context) -> None:
    """Report each cycle of promotes_from once, at the first environment of it in the file."""
    parents: dict[str, str] = {}
    for entry in environments:
        if "name" in entry and "promotes_from" in entry:
            parents.setdefault(entry["name"], entry["promotes_from"])
    reported: set[str] = set()
    for entry in environments:
        cycle = promotion_cycle(entry.get("name"), parents)
        if cycle and entry["name"] not in reported:
            reported.update(cycle)
            path = " → ".join([*cycle, cycle[0]])
            message = f"promotion path has a cycle: {path} (each promotes from the next)"
            ctx.error(entry.line_of("promotes_from"), entry.path_of("promotes_from"), message)


def promotion_cycle(start: str | None, parents: dict[str, str]) -> list[str]:
    """The environments of the cycle `start` is part of, from `start`; empty if none."""
    path: list[str] = []
    current = start
    while current is not None and current not in path:
        path.append(current)
        current = parents.get(current)
    return path if current == start and start is not None else []


def report_undefined_smoke_urls(
    services: list[Entry], environments: list[Entry], ctx: Context
) -> None:
    for service in services:
        for check in service.get("smoke_checks", []):
            if "url" in check:
                report_undefined_url(check["url"], check, "url", environments, ctx)


def report_undefined_tls_urls(
    checklists: list[Entry], environments: list[Entry], ctx: Context
) -> None:
    for checklist in checklists:
        if "name" not in checklist:
            continue
        users = [env for env in environments if env.get("checklist") == checklist.get("name")]
        for item in checklist.get("items", []):
            if item.get("check") != CheckKindName.TLS_VALID or not isinstance(
                item.get("params"), dict
            ):
                continue
            for url_name in item["params"].get("urls", []):
                report_undefined_url(url_name, item, "params", users, ctx)


def report_undefined_url(
    url_name: str, entry: Entry, key: str, environments: list[Entry], ctx: Context
) -> None:
    for environment in environments:
        if "urls" in environment and url_name not in environment["urls"]:
            message = (
                f"URL name '{url_name}' is not defined in the urls of "
                f"environment '{environment.get('name', environment.path)}'"
            )
            ctx.error(entry.line_of(key), entry.path_of(key), message)
