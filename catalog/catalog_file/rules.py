"""Rules over a whole record, run after its keys were checked one by one.

A rule looks at which keys were *written* (`entry.key_lines`), not only at the
values that passed, so a key with a bad value does not also count as missing.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from yaml.nodes import MappingNode

from catalog.catalog_file.check_kinds import CHECK_KINDS, POST_ONLY_KINDS
from catalog.catalog_file.nodes import Context, Entry, plain
from catalog.catalog_file.values import parse_freeze_time, timezone_problem


def cluster_has_one_way_in(entry: Entry, node: MappingNode, ctx: Context) -> None:
    """A cluster is reached through a kubeconfig file or from inside the cluster, not both."""
    has_kubeconfig = "kubeconfig" in entry.key_lines
    in_cluster = entry.get("in_cluster") is True
    if has_kubeconfig and in_cluster:
        message = "give either kubeconfig (with context) or in_cluster: true, not both"
        ctx.error(entry.line_of("in_cluster"), entry.path, message)
    elif not has_kubeconfig and not in_cluster and "in_cluster" in entry:
        message = "give either kubeconfig (with context) or in_cluster: true"
        ctx.error(entry.line, entry.path, message)
    if "context" in entry.key_lines and not has_kubeconfig:
        message = "context is only used with a kubeconfig"
        ctx.error(entry.line_of("context"), entry.path_of("context"), message)


def automatic_items_name_their_check(entry: Entry, node: MappingNode, ctx: Context) -> None:
    """`check` is required iff the item is automatic; its params fit the check kind."""
    mode = entry.get("mode")
    if mode == "automatic" and "check" not in entry.key_lines:
        ctx.error(entry.line, entry.path, "missing required key 'check' (automatic items need one)")
    for key in ("check", "params"):
        if mode == "manual" and key in entry.key_lines:
            message = f"'{key}' is only for automatic items (this one is manual)"
            ctx.error(entry.line_of(key), entry.path_of(key), message)
    if "check" in entry:
        check_params(entry, node, ctx)
        if entry["check"] in POST_ONLY_KINDS and entry.get("phase") not in (None, "post"):
            message = f"check '{entry['check']}' watches a new release: use it in phase post"
            ctx.error(entry.line_of("check"), entry.path_of("check"), message)
    elif "params" in entry:
        del entry["params"]  # unchecked: the check kind is missing or unknown


def check_params(entry: Entry, node: MappingNode, ctx: Context) -> None:
    kind = CHECK_KINDS[entry["check"]]
    params_node = entry.get("params")
    if params_node is None:
        # No params written: check an empty mapping so missing keys are reported at the item.
        params_node = MappingNode("tag:yaml.org,2002:map", [], node.start_mark, node.end_mark)
    params = kind.params.check(params_node, entry.path_of("params"), ctx)
    entry["params"] = plain(params)


def freeze_window_is_ordered(entry: Entry, node: MappingNode, ctx: Context) -> None:
    """Both ends are weekly (`fri 16:00`) or both are datetimes, and a datetime window ends
    after it starts."""
    if "from" not in entry or "to" not in entry:
        return
    start, end = parse_freeze_time(entry["from"]), parse_freeze_time(entry["to"])
    if isinstance(start, datetime) != isinstance(end, datetime):
        message = "bad freeze window: from and to must both be weekly times or both datetimes"
        ctx.error(entry.line_of("to"), entry.path_of("to"), message)
    elif isinstance(start, datetime) and isinstance(end, datetime):
        zone = entry.get("timezone", "UTC")
        zone_info = ZoneInfo("UTC" if timezone_problem(zone) else zone)
        start, end = (moment.replace(tzinfo=moment.tzinfo or zone_info) for moment in (start, end))
        if end <= start:
            message = f"bad freeze window: ends ({entry['to']}) before it starts ({entry['from']})"
            ctx.error(entry.line_of("to"), entry.path_of("to"), message)
    elif start == end:
        message = "bad freeze window: from and to are the same time"
        ctx.error(entry.line_of("to"), entry.path_of("to"), message)
