"""Every kind of catalog error is reported, with the line it is on, and all at once.

Each case breaks one line of tests/catalogs/minimal.yaml; the broken line ends
with the marker `  #!`, and the error must name exactly that line.
"""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.catalog_file import CatalogInvalid, load_catalog, parse_catalog
from catalog.models import ChecklistTemplateItem

MINIMAL = (Path(__file__).parent / "catalogs" / "minimal.yaml").read_text()
MARK = "  #!"
ENVIRONMENT_KEYS = (
    "name, promotes_from, cluster, namespace, urls, resolve, approvals, checklist, "
    "freeze_windows, rollout_timeout, auto_rollback, post_items, monitoring, rpo, soak, "
    "smoke"
)
CHECK_KINDS = (
    "release_built, image_pushed, tests_passed, secrets_present, tls_valid, backup_fresh, "
    "no_alerts_firing, step, pod_logs_clean, error_rate, memory"
)
FREEZE_HINT = "a weekday and time like 'fri 16:00', or an ISO datetime like '2026-12-24T18:00'"


def broken(old: str, new: str, text: str = MINIMAL) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def marked_line(text: str) -> int:
    (line,) = [number for number, line in enumerate(text.splitlines(), 1) if line.endswith(MARK)]
    return line


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def errors_of(text: str) -> list[str]:
    with pytest.raises(CatalogInvalid) as raised:
        parse_catalog(text, "bad.yaml")
    return raised.value.lines


def assert_reported(text: str, message: str) -> None:
    errors = errors_of(text)
    assert f"bad.yaml:{marked_line(text)}: {message}" in errors, "\n".join(errors)


def test_the_minimal_catalog_is_valid():
    catalog = parse_catalog(MINIMAL, "minimal.yaml")
    assert [entry["name"] for entry in catalog.environments] == ["development", "production"]


def test_unknown_key_is_reported_with_its_line():
    text = broken("    cluster: prod\n", "    clsuter: prod  #!\n")
    message = f"unknown key 'clsuter' (expected one of: {ENVIRONMENT_KEYS})"
    assert_reported(text, f"environments[1].clsuter: {message}")


def test_duplicate_key_is_reported_with_its_line():
    text = broken(
        "    namespace: vizora-prod\n", "    namespace: vizora-prod\n    namespace: x  #!\n"
    )
    first = marked_line(text) - 1
    assert_reported(
        text, f"environments[1].namespace: duplicate key 'namespace' (first at line {first})"
    )


def test_missing_required_key_is_reported_at_its_mapping():
    text = broken("  - name: development\n    cluster: dev\n", "  - name: development  #!\n")
    assert_reported(text, "environments[0]: missing required key 'cluster'")


def test_wrong_type_is_reported_with_its_line():
    text = broken("        containers: [web]\n", "        containers: web  #!\n")
    assert_reported(text, "services[0].workloads[0].containers: expected a list, got a string")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    cluster: prod\n",
            "    cluster: prd  #!\n",
            "environments[1].cluster: unknown cluster 'prd' (defined: dev, prod)",
        ),
        (
            "    checklist: release\n",
            "    checklist: relase  #!\n",
            "environments[1].checklist: unknown checklist 'relase' (defined: release)",
        ),
        (
            "    promotes_from: development\n",
            "    promotes_from: dev  #!\n",
            "environments[1].promotes_from: unknown environment 'dev' "
            "(defined: development, production)",
        ),
        (
            "      - url: app\n",
            "      - url: api  #!\n",
            "services[0].smoke_checks[0].url: URL name 'api' is not defined in the urls of "
            "environment 'production'",
        ),
    ],
    ids=["cluster", "checklist", "promotes-from", "smoke-check-url"],
)
def test_missing_reference_is_reported_with_its_line(old, new, message):
    assert_reported(broken(old, new), message)


@pytest.mark.parametrize(
    ("old", "new", "section", "kind"),
    [
        pytest.param(
            "  - name: prod\n", "  - name: dev  #!\n", "clusters[1]", "cluster", id="cluster"
        ),
        pytest.param(
            "services:\n",
            "  - name: release  #!\n    items: [{phase: pre, text: x, mode: manual}]\nservices:\n",
            "checklists[1]",
            "checklist",
            id="checklist",
        ),
        pytest.param(
            "environments:\n",
            "  - name: web  #!\n"
            "    image: ghcr.io/x/y\n"
            "    workloads: [{deployment: y, containers: [y]}]\n"
            "environments:\n",
            "services[1]",
            "service",
            id="service",
        ),
        pytest.param(
            "  - name: production\n",
            "  - name: development  #!\n",
            "environments[1]",
            "environment",
            id="environment",
        ),
    ],
)
def test_duplicate_name_is_reported_with_both_lines(old, new, section, kind):
    text = broken(old, new)
    name = text.splitlines()[marked_line(text) - 1].split()[2]
    first = line_of(text, f"  - name: {name}")
    message = f"duplicate {kind} name '{name}' (first defined at line {first})"
    assert_reported(text, f"{section}.name: {message}")


def test_promotion_cycle_is_reported_once_at_its_first_environment():
    text = broken("    cluster: dev\n", "    cluster: dev\n    promotes_from: production  #!\n")
    cycle = "development → production → development (each promotes from the next)"
    message = f"environments[0].promotes_from: promotion path has a cycle: {cycle}"
    assert_reported(text, message)
    assert sum("cycle" in error for error in errors_of(text)) == 1


def test_an_environment_promoting_from_itself_is_a_cycle():
    text = broken("    promotes_from: development\n", "    promotes_from: production  #!\n")
    cycle = "production → production (each promotes from the next)"
    assert_reported(text, f"environments[1].promotes_from: promotion path has a cycle: {cycle}")


def test_an_automatic_item_without_a_check_kind_is_reported_at_the_item():
    text = broken(
        "      - phase: pre\n        text: Backup verified\n        mode: automatic\n"
        "        check: backup_fresh\n",
        "      - phase: pre  #!\n        text: Backup verified\n        mode: automatic\n",
    )
    message = "missing required key 'check' (automatic items need one)"
    assert_reported(text, f"checklists[0].items[1]: {message}")


DURATION_HINT = "(a number and unit like 30s, 5m, 1h30m, 26h or 2d)"
BACKUP_PARAMS = "check: backup_fresh\n        params: {cronjob: postgres-backup, max_age: 26h}\n"
FREEZE_AFTER = "    rollout_timeout: 5m\n"
FREEZE_WINDOW = "    rollout_timeout: 5m\n    freeze_windows:\n      - {name: x, %s}  #!\n"
STEPS = "pre_checks, approval, migrate, rollout, smoke, post_checks, rollback"
SLUG_HINT = "(a slug: lowercase letters, digits and inner hyphens, at most 63 characters)"
BAD_VALUES = [
    pytest.param(
        "rollout_timeout: 5m\n",
        "rollout_timeout: 5 minutes  #!\n",
        f"environments[1].rollout_timeout: bad duration '5 minutes' {DURATION_HINT}",
        id="duration",
    ),
    pytest.param(
        "rollout_timeout: 5m\n",
        "rollout_timeout: 300  #!\n",
        f"environments[1].rollout_timeout: bad duration '300' {DURATION_HINT}",
        id="duration-without-unit",
    ),
    pytest.param(
        "max_age: 26h}\n",
        "max_age: 26 hours}  #!\n",
        f"checklists[0].items[1].params.max_age: bad duration '26 hours' {DURATION_HINT}",
        id="duration-in-params",
    ),
    pytest.param(
        "check: backup_fresh\n",
        "check: backup_recent  #!\n",
        "checklists[0].items[1].check: unknown check kind 'backup_recent' "
        f"(expected one of: {CHECK_KINDS})",
        id="check-kind",
    ),
    pytest.param(
        "max_age: 26h}\n",
        "max_age: 26h, retries: 3}  #!\n",
        "checklists[0].items[1].params.retries: unknown key 'retries' "
        "(expected one of: cronjob, max_age)",
        id="params-unknown-key",
    ),
    pytest.param(
        "{cronjob: postgres-backup, max_age: 26h}\n",
        "{max_age: 26h}  #!\n",
        "checklists[0].items[1].params: missing required key 'cronjob'",
        id="params-missing-key",
    ),
    pytest.param(
        BACKUP_PARAMS,
        "check: pod_logs_clean\n        params: {pattern: 'error(('}  #!\n",
        "checklists[0].items[1].params.pattern: invalid regular expression 'error((': "
        "missing ), unterminated subpattern at position 6",
        id="params-bad-regex",
    ),
    pytest.param(
        BACKUP_PARAMS,
        "check: step\n        params: {step: deploy}  #!\n",
        f"checklists[0].items[1].params.step: unknown step 'deploy' (expected one of: {STEPS})",
        id="params-bad-step",
    ),
    pytest.param(
        "        mode: manual\n",
        "        mode: manual\n        check: tests_passed  #!\n",
        "checklists[0].items[0].check: 'check' is only for automatic items (this one is manual)",
        id="manual-with-check",
    ),
    pytest.param(
        "      - phase: pre\n        text: Code review approved\n",
        "      - phase: before  #!\n        text: Code review approved\n",
        "checklists[0].items[0].phase: unknown phase 'before' (expected one of: pre, deploy, post)",
        id="phase",
    ),
    pytest.param(
        "        mode: manual\n",
        "        mode: sometimes  #!\n",
        "checklists[0].items[0].mode: unknown mode 'sometimes' "
        "(expected one of: manual, automatic)",
        id="mode",
    ),
    pytest.param(
        "  - name: web\n",
        "  - name: Web_App  #!\n",
        f"services[0].name: invalid name 'Web_App' {SLUG_HINT}",
        id="name",
    ),
    pytest.param(
        'urls: {app: "http://app.dev.vizora.com"}\n',
        'urls: {app: "ftp://app.dev.vizora.com"}  #!\n',
        "environments[0].urls.app: invalid URL 'ftp://app.dev.vizora.com' "
        "(expected http:// or https:// and a host name)",
        id="url",
    ),
    pytest.param(
        'urls: {app: "http://app.dev.vizora.com"}\n',
        'urls: {app: "http://[app.dev.vizora.com"}  #!\n',
        "environments[0].urls.app: invalid URL 'http://[app.dev.vizora.com' "
        "(expected http:// or https:// and a host name)",
        id="url-unclosed-ipv6-bracket",
    ),
    pytest.param(
        "    namespace: vizora-dev\n",
        '    namespace: vizora-dev\n    resolve: {app.dev.vizora.com: "127.0.0.1"}  #!\n',
        'environments[0].resolve["app.dev.vizora.com"]: '
        "'127.0.0.1' is not host:port (like 127.0.0.1:7101)",
        id="resolve",
    ),
    pytest.param(
        "    in_cluster: true\n",
        "    in_cluster: true  #!\n    kubeconfig: var/kubesim/kubeconfig\n",
        "clusters[1]: give either kubeconfig (with context) or in_cluster: true, not both",
        id="cluster-both-ways-in",
    ),
    pytest.param(
        "  - name: prod\n    in_cluster: true\n",
        "  - name: prod  #!\n    in_cluster: false\n",
        "clusters[1]: give either kubeconfig (with context) or in_cluster: true",
        id="cluster-no-way-in",
    ),
    pytest.param(
        FREEZE_AFTER,
        FREEZE_WINDOW % "from: friday 4pm, to: mon 08:00",
        f"environments[1].freeze_windows[0].from: bad freeze window time 'friday 4pm' "
        f"(expected {FREEZE_HINT})",
        id="freeze-time",
    ),
    pytest.param(
        FREEZE_AFTER,
        FREEZE_WINDOW % "from: fri 16:00, to: 2026-12-24T18:00",
        "environments[1].freeze_windows[0].to: bad freeze window: "
        "from and to must both be weekly times or both datetimes",
        id="freeze-mixed",
    ),
    pytest.param(
        FREEZE_AFTER,
        FREEZE_WINDOW % "from: 2026-12-24T18:00, to: 2026-12-24T08:00",
        "environments[1].freeze_windows[0].to: bad freeze window: "
        "ends (2026-12-24T08:00) before it starts (2026-12-24T18:00)",
        id="freeze-backwards",
    ),
    pytest.param(
        FREEZE_AFTER,
        FREEZE_WINDOW % "from: fri 16:00, to: mon 08:00, timezone: Europe/Londn",
        "environments[1].freeze_windows[0].timezone: unknown time zone 'Europe/Londn' "
        "(use an IANA name like Europe/London)",
        id="freeze-timezone",
    ),
    pytest.param(
        FREEZE_AFTER,
        "    rollout_timeout: 5m\n    approvals: {required: 1, group: managers}  #!\n",
        "environments[1].approvals.group: unknown approver group 'managers' "
        "(expected one of: engineer, lead, admin)",
        id="approver-group",
    ),
    pytest.param(
        "    image: ghcr.io/your-org/vizora-web\n",
        "    image: ghcr.io/your-org/vizora-web:latest  #!\n",
        "services[0].image: image 'ghcr.io/your-org/vizora-web:latest' "
        "must be a repository without tag or digest",
        id="image-with-tag",
    ),
    pytest.param(
        FREEZE_AFTER,
        "    rollout_timeout: 5m\n    smoke: {consecutive: 0}  #!\n",
        "environments[1].smoke.consecutive: 0 is out of range (1 to 20)",
        id="smoke-consecutive-zero",
    ),
    pytest.param(
        FREEZE_AFTER,
        "    rollout_timeout: 5m\n    smoke: {consecutive: three}  #!\n",
        "environments[1].smoke.consecutive: expected an integer, got a string",
        id="smoke-consecutive-word",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_VALUES)
def test_bad_value_is_reported_with_its_line(old, new, message):
    assert_reported(broken(old, new), message)


def test_every_error_of_a_file_is_reported_in_line_order():
    text = broken("    cluster: prod\n", "    clsuter: prod\n")
    text = broken("        mode: manual\n", "        mode: sometimes\n", text)
    text = broken("  - name: web\n", "  - name: Web\n", text)
    errors = errors_of(text)
    assert [error.split(": ", 2)[1] for error in errors] == [
        "checklists[0].items[0].mode",
        "services[0].name",
        "environments[1]",  # missing required key 'cluster'
        "environments[1].clsuter",
    ]
    lines = [int(error.split(":")[1]) for error in errors]
    assert lines == sorted(lines)
    assert lines[0] == line_of(text, "mode: sometimes")


def test_invalid_yaml_syntax_is_reported_with_its_line():
    text = broken("    namespace: vizora-prod\n", "    namespace: [vizora-prod  #!\n")
    (error,) = errors_of(text)
    assert error.startswith("bad.yaml:")
    assert "invalid YAML:" in error
    assert int(error.split(":")[1]) > marked_line(text)  # where PyYAML noticed the unclosed [


def test_yaml_syntax_error_names_the_line_of_a_bad_indent():
    text = broken("    context: development\n", "   context: development  #!\n")
    (error,) = errors_of(text)
    assert error.startswith(f"bad.yaml:{marked_line(text)}: invalid YAML: ")


def test_a_missing_file_says_so():
    with pytest.raises(CatalogInvalid) as raised:
        load_catalog("tests/catalogs/no-such-file.yaml")
    assert raised.value.lines == ["tests/catalogs/no-such-file.yaml: no such file"]


def test_an_empty_file_is_an_error_not_an_empty_catalog():
    assert errors_of("# nothing here\n") == [
        "bad.yaml:1: the file is empty (expected clusters, services and environments)"
    ]


# Input that is not a catalog is refused before the node tree is built, with its line.
CODE_REVIEW = "        text: Code review approved\n"


def test_a_raw_nul_is_refused_with_its_line_and_column():
    text = broken(CODE_REVIEW, "        text: Code review\0 approved  #!\n")
    (error,) = errors_of(text)
    assert error == (
        f"bad.yaml:{marked_line(text)}: column 26: the control character U+0000 (NUL) is not "
        "allowed in a catalog; remove it (is this a binary or damaged file?)"
    )


def test_every_line_with_a_raw_control_character_is_reported():
    text = broken(CODE_REVIEW, "        text: Code review\x1b[31m approved\n")
    text = broken("    namespace: vizora-dev\n", "    namespace: vizora-dev\x07\n", text)
    errors = errors_of(text)
    assert [int(error.split(":")[1]) for error in errors] == [
        line_of(text, "Code review"),
        line_of(text, "vizora-dev"),
    ]
    assert "U+001B (ESC)" in errors[0]
    assert "U+0007" in errors[1]


def test_a_binary_file_is_refused_in_eleven_lines_not_one_per_line():
    errors = errors_of("\x00\x01 binary\n" * 1000)
    assert len(errors) == 11
    assert errors[0].startswith("bad.yaml:1: column 1: the control character U+0000 (NUL) ")
    assert errors[-1] == "bad.yaml:11: and more lines with control characters; is this the catalog?"


@pytest.mark.parametrize(
    ("escape", "shown"), [("\\0", "U+0000 (NUL)"), ("\\e[31m", "U+001B (ESC)"), ("\\r", "U+000D")]
)
def test_a_control_character_written_as_an_escape_is_refused_with_its_line(escape, shown):
    text = broken(CODE_REVIEW, f'        text: "Code review{escape} approved"  #!\n')
    assert errors_of(text) == [
        f"bad.yaml:{marked_line(text)}: a value contains the control character {shown} "
        "(written as an escape); remove it"
    ]


def test_tabs_and_line_breaks_in_values_are_not_control_characters():
    text = broken(CODE_REVIEW, '        text: "Code\\treview\\napproved"\n')
    catalog = parse_catalog(text)
    assert catalog.checklists[0]["items"][0]["text"] == "Code\treview\napproved"


def test_a_name_with_a_trailing_newline_is_not_a_name():
    text = broken("  - name: web\n", '  - name: "web\\n"  #!\n')
    assert_reported(text, f"services[0].name: invalid name 'web\\n' {SLUG_HINT}")


def test_a_catalog_over_the_size_limit_is_refused_before_it_is_read_whole(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(MINIMAL.encode() + b"#" * (5 * 1024 * 1024))
    with pytest.raises(CatalogInvalid) as raised:
        load_catalog(path)
    assert raised.value.lines == [
        f"{path}: the file is larger than the limit of 5,242,880 bytes "
        "(PORTAL_CATALOG_MAX_BYTES); check that it is the catalog, or raise the limit"
    ]


def test_the_size_limit_is_the_setting(tmp_path, settings):
    path = tmp_path / "catalog.yaml"
    path.write_text(MINIMAL)
    settings.PORTAL_CATALOG_MAX_BYTES = len(MINIMAL.encode())
    assert load_catalog(path).services[0]["name"] == "web"
    settings.PORTAL_CATALOG_MAX_BYTES -= 1
    with pytest.raises(CatalogInvalid, match="larger than the limit of"):
        load_catalog(path)
    with pytest.raises(CatalogInvalid, match="larger than the limit of"):
        parse_catalog(MINIMAL)


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(broken(CODE_REVIEW, "        text: Code révue\n").encode("latin-1"))
    with pytest.raises(CatalogInvalid) as raised:
        load_catalog(path)
    (error,) = raised.value.lines
    assert error.startswith(f"{path}:{line_of(MINIMAL, 'Code review')}: not UTF-8 text")


def test_deep_nesting_is_refused_at_the_level_past_the_limit():
    text = MINIMAL + "deep: " + "[" * 10_000 + "]" * 10_000 + "\n"
    assert errors_of(text) == [
        f"bad.yaml:{line_of(text, 'deep: ')}: nested more than 32 levels deep "
        "(the example catalog needs 7); is this the catalog?"
    ]


def test_a_catalog_with_too_many_values_is_refused():
    text = MINIMAL + "many: [" + ",".join(["0"] * 50_000) + "]\n"
    assert errors_of(text) == [
        f"bad.yaml:{line_of(text, 'many: ')}: more than 50,000 values "
        "(a catalog of a hundred services has about 10,000); is this the catalog?"
    ]


def test_aliases_that_expand_hugely_are_refused_at_the_alias():
    laughs = ["lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]" for n in range(1, 10)]
    text = MINIMAL + "laughs:\n" + "".join(f"  {line}\n" for line in laughs)
    assert errors_of(text) == [
        f"bad.yaml:{line_of(text, 'lol4: ')}: the alias *lol3 makes the file expand to more "
        "than 50,000 values; write the values out instead of nesting aliases"
    ]


def test_an_alias_inside_the_value_it_names_is_refused():
    text = MINIMAL + "loop: &loop [a, *loop]  #!\n"
    assert_reported(
        text, "the alias *loop is inside the value it names; a catalog cannot be recursive"
    )


def test_an_alias_that_nests_past_the_depth_limit_is_refused():
    deep = "[" * 20 + "]" * 20
    text = MINIMAL + f"deep: &deep {deep}\ndeeper: {'[' * 20}*deep{']' * 20}  #!\n"
    assert_reported(
        text, "nested more than 32 levels deep (the example catalog needs 7); is this the catalog?"
    )


def test_plain_aliases_are_still_allowed():
    text = broken("        containers: [web]\n", "        containers: &containers [web]\n")
    text = broken("    namespace: vizora-dev\n", "    namespace: &ns vizora-dev\n", text)
    assert parse_catalog(text).services[0]["workloads"][0]["containers"] == ["web"]


@pytest.mark.django_db
def test_a_refused_sync_names_the_line_and_changes_nothing(tmp_path):
    good = tmp_path / "catalog.yaml"
    good.write_text(MINIMAL)
    call_command("sync_catalog", str(good), stdout=StringIO())
    before = list(ChecklistTemplateItem.objects.values_list("text", flat=True))
    bad = tmp_path / "bad.yaml"
    bad.write_text(broken(CODE_REVIEW, '        text: "Code review\\0 approved"  #!\n'))
    for args in ([str(bad), "--check"], [str(bad)]):
        with pytest.raises(CommandError) as raised:
            call_command("sync_catalog", *args, stdout=StringIO())
        assert f"{bad}:{marked_line(bad.read_text())}: a value contains" in str(raised.value)
        assert "1 error, nothing changed" in str(raised.value)
    assert list(ChecklistTemplateItem.objects.values_list("text", flat=True)) == before
