"""Fill a PostgreSQL database with a long Vizora history for the page benchmark.

The Vizora catalog (`examples/vizora.yaml`, through sync_catalog), people of each
role, and by default 100,000 deployments spread over every (service, environment)
lane, each with the steps its plan has (`plan_promotion` / `plan_rollback`), the
environment's checklist, approvals, audit events, notifications and 5 million log
lines (one deployment holds ~100,000 of them). Written with `INSERT … SELECT
generate_series` in one transaction, not ORM saves: a couple of minutes on 2 cores.

Every row keeps the models' rules, so the pages render real rows: lanes are the
(service, environment) pairs, at most one deployment runs per lane, log `seq` is
gap-free per deployment and `next_log_seq` follows it, a line's step belongs to its
deployment, rollout results carry the images the way `lane_history` reads them, a
rolled-back deployment has a rollback step that ran. The newest deployments are in
flight: a production deployment waits for approval, a staging one is rolling out,
a break-glass deployment waits for its review, a verification is open.

Idempotent: it records the sizes it generated and skips when they match; other
sizes start the history again (the catalog stays). Sizes: see bench/history_db.py.

Run: .venv/bin/python bench/gen_history.py
"""

import json
import time

from history_db import DATABASE, REPO, SERVER, Sizes, configure_django, sizes_from_env

GAP_MINUTES = 10  # between two deployments anywhere: ~144 a day
ENGINEERS = 20
LEADS = 5
META = "bench_history_meta"
# Bumped when the rows generated change shape, so an older history is generated again
# (2: audit events carry their environment and service, as the timeline reads them).
GENERATOR_VERSION = 2
# The tables `describe` counts; what is emptied first is every table that references a
# release, a deployment or a lane (`history_tables`, read from the models).
COUNTED_TABLES = (
    "deployments_logline", "deployments_auditevent", "deployments_notification",
    "deployments_approval", "deployments_checklistitem", "deployments_step",
    "deployments_deployment", "deployments_release", "deployments_lane",
)  # fmt: skip


def main() -> None:
    sizes = sizes_from_env()
    ensure_database()
    configure_django()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    if generated_sizes(connection) == generated_meta(sizes):
        print(f"{DATABASE}: history already generated at {sizes.as_dict()}; skipping")
        return
    call_command("sync_catalog", str(REPO / "examples" / "vizora.yaml"), verbosity=0)
    started = time.perf_counter()
    with transaction.atomic():
        generate(connection, sizes)
    with connection.cursor() as cursor:  # outside the transaction: VACUUM cannot run in one
        cursor.execute("VACUUM ANALYZE")
    print(f"{DATABASE}: generated {describe(connection)} in {time.perf_counter() - started:.0f} s")


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def generated_sizes(connection) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META} (sizes jsonb NOT NULL)")
        cursor.execute(f"SELECT sizes FROM {META}")
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def generated_meta(sizes: Sizes) -> dict:
    return {**sizes.as_dict(), "generator": GENERATOR_VERSION}


def generate(connection, sizes: Sizes) -> None:
    with connection.cursor() as cursor:
        run = Runner(cursor)
        run("SET LOCAL synchronous_commit = off")
        run("SET LOCAL work_mem = '256MB'")
        # Rows are consistent by construction; checking 7 million foreign keys one
        # trigger at a time would take most of the run.
        run("SET LOCAL session_replication_role = replica")
        run(f"TRUNCATE {', '.join(history_tables())}, {META} RESTART IDENTITY")
        defaults = column_defaults()
        for table, column, value in defaults:  # columns the statements below do not name
            run(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT {value}')
        run("UPDATE environments_environment SET locked = false, locked_by_id = NULL")
        people = create_people()
        write_parameters(run, sizes, people)
        for label, statement in STATEMENTS:
            run(statement, label)
        run(f"INSERT INTO {META} VALUES ('{json.dumps(generated_meta(sizes))}')")
        for table, column, _value in defaults:
            run(f'ALTER TABLE {table} ALTER COLUMN "{column}" DROP DEFAULT')


class Runner:
    def __init__(self, cursor):
        self.cursor = cursor

    def __call__(self, sql: str, label: str = "") -> None:
        started = time.perf_counter()
        self.cursor.execute(sql)
        if label:
            print(f"  {label:<28} {time.perf_counter() - started:6.1f} s", flush=True)


def create_people() -> dict[str, list[int]]:
    """Engineers who request, leads who approve and review, one admin."""
    from django.contrib.auth.models import Group, User

    from accounts import roles

    def people(prefix: str, count: int, role: str) -> list[int]:
        group, _ = Group.objects.get_or_create(name=role)
        ids = []
        for number in range(1, count + 1):
            user, _ = User.objects.get_or_create(username=f"{prefix}{number:02d}")
            user.groups.add(group)
            ids.append(user.pk)
        return ids

    return {
        "engineers": people("engineer", ENGINEERS, roles.ENGINEER),
        "leads": people("lead", LEADS, roles.LEAD),
        "admins": people("admin", 1, roles.ADMIN),
    }


def write_parameters(run, sizes: Sizes, people: dict[str, list[int]]) -> None:
    """Small temporary tables the statements join: sizes, people, services, environments
    and each lane's plan, taken from the catalog and the engine's own planning."""
    from catalog.models import Environment, Service
    from deployments.engine.planning import plan_promotion, plan_rollback

    services = list(Service.objects.active().order_by("name"))
    environments = list(Environment.objects.active().order_by("position", "name"))
    count_s, count_e = len(services), len(environments)
    big = big_deployment_index(sizes, count_s, count_e, services)
    run(
        "CREATE TEMP TABLE gen_param ON COMMIT DROP AS SELECT "
        f"{sizes.deployments}::int AS deployments, {sizes.log_lines}::bigint AS log_lines, "
        f"{sizes.big_log_lines}::bigint AS big_lines, {big}::int AS big_i, "
        f"{count_s}::int AS services, {count_e}::int AS environments, "
        f"now() - interval '5 minutes' - {sizes.deployments} * interval '{GAP_MINUTES} minutes' "
        "AS t0, "
        f"interval '{GAP_MINUTES} minutes' AS gap, "
        f"ARRAY{people['engineers']}::int[] AS engineers, ARRAY{people['leads']}::int[] AS leads"
    )
    run(
        "CREATE TEMP TABLE gen_service (s int, id bigint, name text, repo text, workload text, "
        "container text, images_tpl text, migrates bool) ON COMMIT DROP"
    )
    run(
        "CREATE TEMP TABLE gen_env (e int, id bigint, name text, namespace text, "
        "approvals int, template_id bigint) ON COMMIT DROP"
    )
    run(
        "CREATE TEMP TABLE gen_plan (s int, e int, trig text, kinds text[], smoke jsonb, "
        "smoke_url text) ON COMMIT DROP"
    )
    for s, service in enumerate(services):
        workload = service.workloads[0]
        template = {
            w["deployment"]: {c: "__IMAGE__" for c in w["containers"]} for w in service.workloads
        }
        run(
            "INSERT INTO gen_service VALUES ("
            f"{s}, {service.pk}, {quote(service.name)}, {quote(service.image_repository)}, "
            f"{quote(workload['deployment'])}, {quote(workload['containers'][0])}, "
            f"{quote(json.dumps(template))}, {bool(service.migration_command)})"
        )
    for e, environment in enumerate(environments):
        run(
            "INSERT INTO gen_env VALUES ("
            f"{e}, {environment.pk}, {quote(environment.name)}, {quote(environment.namespace)}, "
            f"{environment.required_approvals}, {environment.checklist_template_id or 'NULL'})"
        )
        for s, service in enumerate(services):
            smoke = smoke_result(service, environment)
            url = smoke[0]["url"] if smoke else ""
            plans = {
                "promote": plan_promotion(service, environment),
                "break_glass": plan_promotion(service, environment, with_approval=False),
                "rollback": plan_rollback(service),
            }
            for trigger, kinds in plans.items():
                kinds_sql = "ARRAY[" + ", ".join(quote(str(k)) for k in kinds) + "]::text[]"
                run(
                    f"INSERT INTO gen_plan VALUES ({s}, {e}, {quote(trigger)}, {kinds_sql}, "
                    f"{quote(json.dumps({'checks': smoke}))}::jsonb, {quote(url)})"
                )


def big_deployment_index(sizes: Sizes, count_s: int, count_e: int, services) -> int:
    """A production deployment, halfway through the history, of a service that migrates:
    its migration logged every batch of a long backfill."""
    migrating = [s for s, service in enumerate(services) if service.migration_command] or [0]
    cycle = (sizes.deployments // count_e) // 2
    while cycle % count_s != migrating[0]:
        cycle -= 1
    return cycle * count_e + count_e - 1


def smoke_result(service, environment) -> list[dict]:
    checks = []
    for check in service.smoke_checks:
        url = environment.urls.get(check["url"], "").rstrip("/") + check["path"]
        checks.append(
            {"check": f"{check['url']} {check['path']}", "url": url, "ok": True, "detail": "200"}
        )
    return checks


def history_tables() -> list[str]:
    """Releases, deployments and lanes, and every table whose rows point at one of them,
    directly or through another (build log, audit, notifications and their deliveries…):
    read from the models, so a new model of history is emptied with the rest."""
    from django.apps import apps

    from deployments.models import Deployment, Lane
    from releases.models import Release

    history = {Release, Deployment, Lane}
    while True:
        more = {
            model
            for model in apps.get_models()
            if model not in history
            and any(
                field.is_relation and field.many_to_one and field.related_model in history
                for field in model._meta.get_fields()
            )
        }
        if not more:
            return sorted(model._meta.db_table for model in history)
        history |= more


def column_defaults() -> list[tuple[str, str, str]]:
    """(table, column, SQL literal) for every column of history whose model field has a
    default (Django sets defaults in Python, not in the table): set while the statements
    run, so a field added later needs no edit here."""
    from django.apps import apps

    tables = set(history_tables())
    found = []
    for model in apps.get_models():
        if model._meta.db_table not in tables:
            continue
        for field in model._meta.concrete_fields:
            value = None if field.primary_key else field.get_default()  # "" for text
            if value is not None:
                found.append((model._meta.db_table, field.column, literal(value)))
    return found


def literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return quote(json.dumps(value))
    return quote(value)


def quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def describe(connection) -> str:
    counts = []
    with connection.cursor() as cursor:
        for table in COUNTED_TABLES:
            cursor.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")
            counts.append(f"{table.removeprefix('deployments_')}s ≈ {cursor.fetchone()[0]:,}")
    return ", ".join(counts)


# The statements, in order. Every deployment `i` (0-based) gets id i + 1; consecutive
# deployments walk the environments in promotion order for one release, releases go
# round the services, so every lane gets 1 / (services x environments) of the history.
STATEMENTS = [
    (
        "lanes",
        """
INSERT INTO deployments_lane (id, service_id, environment_id)
SELECT s.s * p.environments + e.e + 1, s.id, e.id FROM gen_service s, gen_env e, gen_param p
""",
    ),
    (
        "releases",
        """
INSERT INTO deployments_release (id, service_id, version, git_sha, notes, image, state, reason,
                                 created_by_id, created_at)
SELECT s.s * r.per_service + n + 1, s.id, v.version,
       substr(encode(sha256(convert_to(s.name || v.version, 'UTF8')), 'hex'), 1, 40),
       'Release ' || v.version || ' of ' || s.name, v.image, 'ready', '',
       p.engineers[1 + n % cardinality(p.engineers)],
       p.t0 + ((n * p.services + s.s) * p.environments) * p.gap - interval '30 minutes'
FROM gen_param p, gen_service s,
     LATERAL (SELECT (p.deployments - 1) / p.environments / p.services + 1 AS per_service) r,
     generate_series(0, r.per_service - 1) n,
     LATERAL (SELECT '3.' || (n / 100) || '.' || (n % 100) AS version) v0,
     LATERAL (SELECT v0.version,
                     s.repo || ':' || v0.version || '@sha256:'
                     || encode(sha256(convert_to(s.repo || ':' || v0.version, 'UTF8')), 'hex')
                     AS image) v
""",
    ),
    (
        "deployment plan",
        """
CREATE TEMP TABLE gen_d ON COMMIT DROP AS
WITH base AS (
  SELECT i, i + 1 AS id, (i / p.environments) % p.services AS s, i % p.environments AS e,
         (i / p.environments) / p.services AS n,
         abs(hashint4(i)) % 1000 AS h, abs(hashint4(i + 1000003)) % 1000 AS h2,
         p.t0 + i * p.gap AS created_at
  FROM gen_param p, generate_series(0, p.deployments - 1) i
), newest AS (  -- the newest deployment of every lane, and which of them stay in flight
  SELECT b.*, row_number() OVER (PARTITION BY s, e ORDER BY i DESC) AS age FROM base b
), chosen AS (
  SELECT n.*, CASE
      WHEN n.age = 1 AND n.e = p.environments - 1 AND n.s = p.services - 1 THEN 'pending'
      WHEN n.age = 1 AND n.e = 1 AND n.s = 0 THEN 'running'
      WHEN n.age = 1 AND n.e = p.environments - 1 AND n.s = 1 THEN 'glass'
      WHEN n.age = 1 AND n.e = p.environments - 1 AND n.s = 0 THEN 'verify'
      WHEN n.i = p.big_i THEN 'big'
    END AS special
  FROM newest n, gen_param p
), triggered AS (
  SELECT c.*, CASE
      WHEN c.special = 'glass' THEN 'break_glass'
      WHEN c.special IS NOT NULL THEN 'promote'
      WHEN c.h2 < 20 THEN 'rollback'
      WHEN c.h2 < 23 AND c.e = p.environments - 1 THEN 'break_glass'
      ELSE 'promote' END AS trig
  FROM chosen c, gen_param p
), stated AS (
  SELECT t.*, CASE
      WHEN t.special IN ('pending', 'running') THEN t.special
      WHEN t.special IS NOT NULL THEN 'succeeded'
      WHEN t.trig = 'rollback' THEN CASE WHEN t.h < 970 THEN 'succeeded' ELSE 'failed' END
      WHEN ge.approvals > 0 AND t.trig = 'promote' THEN CASE
          WHEN t.h < 880 THEN 'succeeded' WHEN t.h < 910 THEN 'rolled_back'
          WHEN t.h < 920 THEN 'failed' WHEN t.h < 950 THEN 'rejected'
          WHEN t.h < 970 THEN 'cancelled' ELSE 'superseded' END
      ELSE CASE
          WHEN t.h < 930 THEN 'succeeded' WHEN t.h < 960 THEN 'rolled_back'
          WHEN t.h < 970 THEN 'failed' WHEN t.h < 980 THEN 'cancelled' ELSE 'superseded' END
    END AS state
  FROM triggered t JOIN gen_env ge ON ge.e = t.e
), planned AS (
  SELECT st.*, gp.kinds AS plan, gp.smoke, gp.smoke_url,
         coalesce(array_position(gp.kinds, 'migrate'), array_position(gp.kinds, 'rollout'))
           AS first_work,
         ('pre_checks' = ANY (gp.kinds))::int + ('approval' = ANY (gp.kinds))::int AS gates,
         -- a rollback re-applies the release before; what it replaces ran before it
         st.n - (st.trig = 'rollback' AND st.n > 0)::int AS release_n,
         CASE WHEN st.trig = 'rollback' AND st.n > 0 THEN st.n ELSE st.n - 1 END AS previous_n
  FROM stated st JOIN gen_plan gp ON gp.s = st.s AND gp.e = st.e AND gp.trig = st.trig
), failing AS (
  SELECT pl.*,
    CASE pl.state
      WHEN 'rolled_back' THEN array_position(pl.plan, 'rollout')
      WHEN 'failed' THEN pl.first_work
      WHEN 'rejected' THEN array_position(pl.plan, 'approval')
      WHEN 'pending' THEN array_position(pl.plan, 'approval')
      WHEN 'running' THEN array_position(pl.plan, 'rollout')
      WHEN 'cancelled' THEN pl.first_work
      WHEN 'superseded' THEN pl.first_work
      ELSE cardinality(pl.plan) + 1 END AS stop_at
  FROM planned pl
)
SELECT f.*,
  CASE WHEN f.state = 'rolled_back'
         OR (f.state = 'failed' AND f.plan[f.stop_at] = 'rollout')
       THEN f.plan || ARRAY['rollback'] ELSE f.plan END AS kinds,
  f.created_at + CASE WHEN ge.approvals > 0 AND f.trig = 'promote'
                      THEN (15 + f.h % 45) * interval '1 minute' ELSE interval '3 seconds' END
    AS gates_done,
  CASE WHEN f.special = 'big' THEN interval '80 minutes'
       ELSE (60 + f.h2 % 240) * interval '1 second' END AS work_time,
  CASE WHEN f.state IN ('rejected', 'superseded', 'pending') THEN 0
       WHEN f.special = 'big' THEN 0
       WHEN f.state = 'cancelled' THEN 10 + f.h2 % 10
       ELSE 20 + f.h2 % 60 END AS weight
FROM failing f JOIN gen_env ge ON ge.e = f.e
""",
    ),
    (
        "log lines per deployment",
        """
CREATE TEMP TABLE gen_lines ON COMMIT DROP AS
WITH w AS (
  SELECT i, sum(weight) OVER (ORDER BY i) AS upto, sum(weight) OVER () AS total FROM gen_d
)
SELECT w.i,
       CASE WHEN w.i = p.big_i THEN p.big_lines ELSE
         ((p.log_lines - p.big_lines) * w.upto / w.total)
         - ((p.log_lines - p.big_lines) * (w.upto - d.weight) / w.total) END AS lines
FROM w JOIN gen_d d USING (i), gen_param p
""",
    ),
    (
        "deployments",
        """
INSERT INTO deployments_deployment (
  id, release_id, service_id, environment_id, lane_id, requested_by_id, trigger, state, reason,
  verification, previous_images, rollback_of_id, superseded_by_id, break_glass_reason,
  break_glass_reviewed_by_id, break_glass_reviewed_at, break_glass_review_note,
  cancel_requested, cancel_requested_by_id, next_log_seq, created_at, queued_at, started_at,
  finished_at)
SELECT d.id, r.id, s.id, e.id, d.s * p.environments + d.e + 1,
  p.engineers[1 + d.h2 % cardinality(p.engineers)], d.trig, d.state,
  CASE d.state
    WHEN 'pending' THEN 'Waiting for ' || e.approvals || ' approval from a ' || 'lead.'
    WHEN 'failed' THEN CASE d.plan[d.stop_at]
      WHEN 'migrate' THEN 'Migration failed: job vizora-' || s.name || '-migrate-' || d.id
                          || ' ended with exit code 1.'
      ELSE 'Rollout failed: deployment "' || s.workload || '" exceeded its progress deadline; '
           || 'the rollback failed too.' END
    WHEN 'rolled_back' THEN 'Rollout failed: deployment "' || s.workload || '" exceeded its '
      || 'progress deadline: pod ' || s.workload || '-7d9f' || d.h || ' is in CrashLoopBackOff. '
      || 'Rolled back to the images that ran before.'
    WHEN 'rejected' THEN 'Rejected: not during the customer demo.'
    WHEN 'cancelled' THEN 'Cancelled by its requester.'
    WHEN 'superseded' THEN 'Superseded by #' || (d.id + p.services * p.environments) || '.'
    ELSE '' END,
  CASE WHEN d.special = 'verify' THEN 'open'
       WHEN d.state = 'succeeded' AND e.template_id IS NOT NULL AND d.trig <> 'rollback'
       THEN 'complete' ELSE 'not_required' END,
  CASE WHEN pr.id IS NOT NULL AND d.state NOT IN ('pending', 'rejected', 'superseded')
       THEN replace(s.images_tpl, '__IMAGE__', pr.image)::jsonb ELSE '{}'::jsonb END,
  CASE WHEN d.trig = 'rollback' AND d.i >= p.services * p.environments
       THEN d.id - p.services * p.environments END,
  CASE WHEN d.state = 'superseded' AND d.i + p.services * p.environments < p.deployments
       THEN d.id + p.services * p.environments END,
  CASE WHEN d.trig = 'break_glass'
       THEN 'Checkout is down for every customer (INC-' || d.id || '); the fix cannot wait '
            || 'for the freeze to end.' ELSE '' END,
  CASE WHEN d.trig = 'break_glass' AND d.special IS NULL
       THEN p.leads[1 + d.h % cardinality(p.leads)] END,
  CASE WHEN d.trig = 'break_glass' AND d.special IS NULL
       THEN d.gates_done + d.work_time + interval '1 hour' END,
  CASE WHEN d.trig = 'break_glass' AND d.special IS NULL
       THEN 'Justified: the incident needed it.' ELSE '' END,
  d.state = 'cancelled',
  CASE WHEN d.state = 'cancelled' THEN p.engineers[1 + d.h2 % cardinality(p.engineers)] END,
  l.lines + 1, d.created_at,
  CASE WHEN d.state NOT IN ('pending', 'rejected') THEN d.gates_done END,
  CASE WHEN d.state NOT IN ('pending', 'rejected', 'superseded')
       THEN d.gates_done + interval '2 seconds' END,
  CASE WHEN d.state IN ('pending', 'running') THEN NULL
       WHEN d.state = 'rejected' THEN d.gates_done
       WHEN d.state = 'superseded' THEN d.gates_done + interval '5 minutes'
       WHEN d.state = 'cancelled' THEN d.gates_done + interval '2 seconds' + d.work_time / 3
       ELSE d.gates_done + interval '2 seconds' + d.work_time END
FROM gen_d d
JOIN gen_lines l USING (i)
JOIN gen_service s ON s.s = d.s
JOIN gen_env e ON e.e = d.e
CROSS JOIN gen_param p
CROSS JOIN LATERAL (SELECT d.s * ((p.deployments - 1) / p.environments / p.services + 1) + 1
                    AS first_release) f
JOIN deployments_release r ON r.id = f.first_release + d.release_n
LEFT JOIN deployments_release pr ON pr.id = f.first_release + d.previous_n AND d.previous_n >= 0
""",
    ),
    (
        "step plan",
        """
CREATE TEMP TABLE gen_s ON COMMIT DROP AS
WITH k AS (
  SELECT d.i, d.id AS deployment_id, d.state AS d_state, d.special, d.stop_at, d.gates,
         k.kind, k.position::int AS position, cardinality(d.kinds) - d.gates AS work_steps,
         d.created_at, d.gates_done, d.work_time
  FROM gen_d d, unnest(d.kinds) WITH ORDINALITY AS k(kind, position)
), st AS (
  SELECT k.*, CASE
      WHEN k.d_state = 'succeeded' THEN 'succeeded'
      WHEN k.kind = 'rollback' THEN CASE WHEN k.d_state = 'rolled_back' THEN 'succeeded'
                                          ELSE 'failed' END
      WHEN k.position < k.stop_at THEN 'succeeded'
      WHEN k.position = k.stop_at THEN CASE k.d_state
          WHEN 'pending' THEN 'waiting' WHEN 'running' THEN 'running'
          WHEN 'cancelled' THEN 'cancelled' WHEN 'superseded' THEN 'cancelled'
          ELSE 'failed' END
      WHEN k.d_state IN ('pending', 'running') THEN 'pending'
      ELSE 'skipped' END AS state
  FROM k
)
SELECT st.*,
  st.kind NOT IN ('pre_checks', 'approval')
    AND (st.state IN ('succeeded', 'failed', 'running')
         OR (st.state = 'cancelled' AND st.d_state = 'cancelled')) AS ran,
  CASE WHEN st.kind = 'pre_checks' THEN st.created_at
       WHEN st.kind = 'approval' THEN st.created_at + interval '3 seconds'
       ELSE st.gates_done + interval '2 seconds'
            + (st.position - st.gates - 1) * st.work_time / greatest(st.work_steps, 1) END
    AS slot_start,
  CASE WHEN st.kind = 'pre_checks' THEN interval '3 seconds'
       WHEN st.kind = 'approval' THEN st.gates_done - st.created_at - interval '3 seconds'
       ELSE st.work_time / greatest(st.work_steps, 1) END AS slot
FROM st
""",
    ),
    (
        "steps",
        """
INSERT INTO deployments_step (deployment_id, kind, position, state, reason, attempt,
  lease_owner, heartbeat_at, deadline_at, started_at, finished_at, result, log_bytes)
SELECT g.deployment_id, g.kind, g.position, g.state,
  CASE WHEN g.state = 'failed' THEN dd.reason ELSE '' END,
  CASE WHEN g.ran THEN 1 ELSE 0 END,
  CASE WHEN g.state = 'running' THEN 'worker@bench:1234' ELSE '' END,
  CASE WHEN g.state = 'running' THEN now() END,
  CASE WHEN g.state = 'running' THEN now() + interval '10 minutes' END,
  CASE WHEN g.state NOT IN ('pending', 'skipped')
            AND NOT (g.state = 'cancelled' AND NOT g.ran) THEN g.slot_start END,
  CASE WHEN g.state IN ('succeeded', 'failed') OR (g.state = 'cancelled' AND g.ran)
       THEN g.slot_start + g.slot END,
  CASE
    WHEN g.kind = 'rollout' AND g.state IN ('succeeded', 'running') THEN
      jsonb_build_object('applied', true,
                         'images', replace(s.images_tpl, '__IMAGE__', r.image)::jsonb)
      || CASE WHEN dd.previous_images <> '{}' AND g.state = 'succeeded'
                   AND abs(hashint4(g.i + 99)) % 1000 < 3
              THEN jsonb_build_object('drift', jsonb_build_array(jsonb_build_object(
                     'workload', s.workload, 'container', s.container,
                     'running', s.repo || ':hotfix-by-hand', 'deployed',
                     dd.previous_images -> s.workload ->> s.container,
                     'deployment', g.deployment_id - 9)))
              ELSE '{}'::jsonb END
    WHEN g.kind = 'rollout' AND g.state = 'failed' THEN
      jsonb_build_object('applied', true, 'diagnosis', jsonb_build_array(
        'pod ' || s.workload || '-7d9f: container ' || s.container
        || ' is waiting: CrashLoopBackOff (back-off 40s restarting failed container)'))
    WHEN g.kind = 'migrate' AND g.ran THEN
      jsonb_build_object('job', 'vizora-' || s.name || '-migrate-' || g.deployment_id)
    WHEN g.kind = 'smoke' AND g.state = 'succeeded' THEN gp.smoke
    WHEN g.kind = 'rollback' AND g.ran THEN jsonb_build_object('restored', dd.previous_images)
    ELSE '{}'::jsonb END,
  0
FROM gen_s g
JOIN gen_d d ON d.i = g.i
JOIN deployments_deployment dd ON dd.id = g.deployment_id
JOIN deployments_release r ON r.id = dd.release_id
JOIN gen_service s ON s.s = d.s
JOIN gen_plan gp ON gp.s = d.s AND gp.e = d.e AND gp.trig = d.trig
ORDER BY g.deployment_id, g.position
""",
    ),
    (
        "log lines per step",
        """
CREATE TEMP TABLE gen_step_lines ON COMMIT DROP AS
WITH ran AS (
  SELECT st.id AS step_id, st.deployment_id, st.kind, st.state, st.started_at,
         coalesce(st.finished_at, now()) - st.started_at AS took,
         CASE WHEN d.special = 'big' AND st.kind = 'migrate' THEN 100000
              ELSE CASE st.kind WHEN 'migrate' THEN 3 WHEN 'rollout' THEN 5
                                WHEN 'smoke' THEN 2 ELSE 3 END END AS weight,
         l.lines, st.position
  FROM deployments_step st
  JOIN gen_d d ON d.id = st.deployment_id
  JOIN gen_lines l ON l.i = d.i
  WHERE st.attempt > 0 AND l.lines > 0
), cum AS (
  SELECT ran.*,
         sum(weight) OVER (PARTITION BY deployment_id ORDER BY position) AS upto,
         sum(weight) OVER (PARTITION BY deployment_id) AS total
  FROM ran
)
SELECT c.step_id, c.deployment_id, c.kind, c.state, c.started_at, c.took,
       (c.lines * (c.upto - c.weight) / c.total) + 1 AS first_seq,
       (c.lines * c.upto / c.total) - (c.lines * (c.upto - c.weight) / c.total) AS lines
FROM cum c
ORDER BY c.deployment_id, first_seq
""",
    ),
    (
        "log lines",
        """
INSERT INTO deployments_logline (deployment_id, step_id, seq, text, created_at)
SELECT g.deployment_id, g.step_id, g.first_seq + k - 1,
  CASE g.kind
    WHEN 'migrate' THEN CASE
      WHEN k = 1 THEN 'job.batch/vizora-' || s.name || '-migrate-' || g.deployment_id || ' created'
      WHEN g.lines > 1000 THEN 'migrate | backfill device_events batch ' || k || ' of '
                               || g.lines || ': 500 rows updated in ' || (40 + k % 37) || ' ms'
      ELSE 'migrate | ' || (ARRAY[
        'Prisma schema loaded from prisma/schema.prisma',
        'Datasource "db": PostgreSQL database "vizora", schema "public" at "postgres:5432"',
        'Applying migration `2026' || lpad((k % 12 + 1)::text, 2, '0') || '01_index_' || k || '`',
        'The following migration(s) have been applied: ' || k])[1 + k % 4] END
    WHEN 'rollout' THEN CASE
      WHEN k = 1 THEN s.workload || ' runs ' || s.container || '='
                      || coalesce(d.previous_images -> s.workload ->> s.container, r.image)
                      || ' before this deployment'
      WHEN k = 2 THEN 'deployment.apps/' || s.workload || ' image updated: ' || s.container || '='
                      || r.image
      WHEN k = g.lines AND g.state = 'succeeded'
        THEN 'deployment "' || s.workload || '" successfully rolled out'
      ELSE 'Waiting for deployment "' || s.workload || '" rollout to finish: ' || (k % 3)
           || ' of 3 updated replicas are available...' END
    WHEN 'smoke' THEN 'smoke (try ' || (1 + k % 5) || ' of 5): ' || gp.smoke_url
                      || ' answered 200 in ' || (9 + (k * 7) % 40) || ' ms'
    ELSE CASE WHEN k = 1 THEN 'Rolling back to the images that ran before this deployment'
      ELSE 'Waiting for deployment "' || s.workload || '" rollout to finish: ' || (k % 3)
           || ' of 3 updated replicas are available...' END
  END,
  g.started_at + g.took * (k - 1) / greatest(g.lines, 1)
FROM gen_step_lines g
JOIN deployments_deployment d ON d.id = g.deployment_id
JOIN deployments_release r ON r.id = d.release_id
JOIN gen_d gd ON gd.id = d.id
JOIN gen_service s ON s.s = gd.s
JOIN gen_plan gp ON gp.s = gd.s AND gp.e = gd.e AND gp.trig = gd.trig
CROSS JOIN LATERAL generate_series(1, g.lines) k
""",
    ),
    (
        "step output sizes",
        """
UPDATE deployments_step st SET log_bytes = b.bytes,
  result = CASE WHEN st.kind = 'migrate' THEN st.result || jsonb_build_object('log_lines', b.n)
                ELSE st.result END
FROM (SELECT step_id, sum(octet_length(text) + 1) AS bytes, count(*) AS n
      FROM deployments_logline GROUP BY step_id) b
WHERE b.step_id = st.id
""",
    ),
    (
        "checklist items",
        """
INSERT INTO deployments_checklistitem (deployment_id, position, phase, text, mode, check_kind,
  params, state, answered_by_id, answered_at, evidence)
SELECT d.id, t.position, t.phase, t.text, t.mode, t.check_kind, t.params, v.state,
  CASE WHEN v.state IN ('pending') OR t.mode = 'automatic' THEN NULL
       WHEN t.phase = 'post' THEN d.requested_by_id
       ELSE p.leads[1 + (gd.h + t.position) % cardinality(p.leads)] END,
  CASE WHEN v.state = 'pending' THEN NULL
       WHEN t.phase = 'pre' THEN d.created_at + t.position * interval '1 minute'
       ELSE coalesce(d.finished_at, now()) + t.position * interval '1 minute' END,
  CASE WHEN v.state = 'pending' THEN ''
       WHEN t.mode = 'manual' AND t.phase = 'pre' THEN 'Reviewed in pull request #' || d.id
       WHEN t.mode = 'manual' THEN 'Checked the dashboards and the sign-up, upload and '
                                   || 'playback flows by hand.'
       WHEN v.state = 'failed' THEN 'Step did not succeed: ' || d.reason
       ELSE 'Checked ' || to_char(d.created_at, 'YYYY-MM-DD HH24:MI') || ' UTC: ' || t.text
            || ' — found as required.' END
FROM deployments_deployment d
JOIN gen_d gd ON gd.id = d.id
JOIN gen_env e ON e.e = gd.e
JOIN environments_checklisttemplateitem t ON t.template_id = e.template_id
CROSS JOIN gen_param p
CROSS JOIN LATERAL (SELECT CASE
    WHEN t.phase = 'pre' THEN 'passed'
    WHEN t.check_kind IN ('release_built', 'image_pushed') THEN 'passed'
    WHEN gd.special = 'verify' AND t.phase = 'post' AND t.mode = 'manual' THEN 'pending'
    WHEN d.state = 'succeeded' THEN 'passed'
    WHEN t.phase = 'deploy' AND d.state IN ('failed', 'rolled_back')
         AND t.params ->> 'step' = gd.plan[gd.stop_at] THEN 'failed'
    WHEN t.phase = 'deploy' AND d.state IN ('failed', 'rolled_back', 'running')
         AND array_position(gd.plan, t.params ->> 'step') < gd.stop_at THEN 'passed'
    ELSE 'pending' END AS state) v
WHERE d.trigger <> 'rollback'
ORDER BY d.id, t.position
""",
    ),
    (
        "approvals",
        """
INSERT INTO deployments_approval (deployment_id, user_id, decision, comment, created_at)
SELECT st.deployment_id, p.leads[1 + gd.h % cardinality(p.leads)],
  CASE WHEN st.state = 'succeeded' THEN 'approve' ELSE 'reject' END,
  CASE WHEN st.state = 'succeeded' THEN 'Looks good; the checklist is complete.'
       ELSE 'Not during the customer demo.' END,
  st.finished_at
FROM deployments_step st JOIN gen_d gd ON gd.id = st.deployment_id CROSS JOIN gen_param p
WHERE st.kind = 'approval' AND st.state IN ('succeeded', 'failed')
""",
    ),
    (
        "audit events",
        """
INSERT INTO deployments_auditevent (actor_id, action, deployment_id, environment_id, service_id,
                                    target, detail, created_at)
SELECT actor_id, action, deployment_id, dd.environment_id, dd.service_id, target, detail,
       events.created_at FROM (
  SELECT d.requested_by_id AS actor_id, 'deployment.requested' AS action, d.id AS deployment_id,
         s.name || ':' || r.version || '→' || e.name AS target,
         jsonb_build_object('trigger', d.trigger, 'image', r.image) AS detail,
         d.created_at
  FROM deployments_deployment d
  JOIN environments_service s ON s.id = d.service_id
  JOIN environments_environment e ON e.id = d.environment_id
  JOIN deployments_release r ON r.id = d.release_id
  UNION ALL
  SELECT NULL, 'deployment.parked', st.deployment_id, '',
         jsonb_build_object('step', 'approval', 'reason', 'Waiting for 1 approval from a lead.'),
         st.started_at
  FROM deployments_step st WHERE st.kind = 'approval' AND st.started_at IS NOT NULL
  UNION ALL
  SELECT a.user_id, CASE WHEN a.decision = 'approve' THEN 'deployment.approved'
                         ELSE 'deployment.rejected' END,
         a.deployment_id, '', jsonb_build_object('comment', a.comment), a.created_at
  FROM deployments_approval a
  UNION ALL
  SELECT c.answered_by_id, 'checklist.answered', c.deployment_id, '',
         jsonb_build_object('item', c.text, 'state', c.state, 'note', c.evidence), c.answered_at
  FROM deployments_checklistitem c WHERE c.mode = 'manual' AND c.answered_at IS NOT NULL
  UNION ALL
  SELECT NULL, 'step.claimed', st.deployment_id, '',
         jsonb_build_object('step', st.kind, 'attempt', st.attempt), st.started_at
  FROM deployments_step st WHERE st.attempt > 0
  UNION ALL
  SELECT NULL, 'step.' || st.state, st.deployment_id, '',
         jsonb_build_object('step', st.kind, 'reason', st.reason), st.finished_at
  FROM deployments_step st WHERE st.state IN ('succeeded', 'failed') AND st.finished_at IS NOT NULL
  UNION ALL
  SELECT NULL, 'deployment.queued', d.id, '', '{}'::jsonb, d.queued_at
  FROM deployments_deployment d WHERE d.queued_at IS NOT NULL
  UNION ALL
  SELECT CASE WHEN d.state = 'cancelled' THEN d.requested_by_id END, 'deployment.' || d.state,
         d.id, '', jsonb_build_object('reason', d.reason), d.finished_at
  FROM deployments_deployment d WHERE d.finished_at IS NOT NULL
  UNION ALL
  SELECT d.break_glass_reviewed_by_id, 'deployment.break_glass_reviewed', d.id, '',
         jsonb_build_object('note', d.break_glass_review_note), d.break_glass_reviewed_at
  FROM deployments_deployment d WHERE d.break_glass_reviewed_at IS NOT NULL
) events
JOIN deployments_deployment dd ON dd.id = events.deployment_id
ORDER BY events.created_at
""",
    ),
    (
        "notifications",
        """
INSERT INTO deployments_notification (deployment_id, event, state, attempts, delivered_to,
  next_attempt_at, last_error, created_at, sent_at)
SELECT deployment_id, event, 'sent', 1, '["slack"]'::jsonb, NULL, '', at, at + interval '1 second'
FROM (
  SELECT d.id AS deployment_id, 'requested' AS event, d.created_at AS at
  FROM deployments_deployment d
  UNION ALL
  SELECT st.deployment_id, 'awaiting_approval', st.started_at
  FROM deployments_step st WHERE st.kind = 'approval' AND st.started_at IS NOT NULL
  UNION ALL
  SELECT d.id, 'started', d.started_at FROM deployments_deployment d
  WHERE d.started_at IS NOT NULL
  UNION ALL
  SELECT d.id, CASE WHEN d.state = 'superseded' THEN 'cancelled'
                    WHEN d.state = 'failed' AND d.reason LIKE '%the rollback failed%'
                    THEN 'rollback_failed' ELSE d.state END, d.finished_at
  FROM deployments_deployment d WHERE d.finished_at IS NOT NULL
) n
""",
    ),
    (
        "sequences",
        """
SELECT setval(pg_get_serial_sequence(t, 'id'), greatest((SELECT max(id) FROM deployments_lane), 1))
FROM (VALUES ('deployments_lane')) v(t);
SELECT setval(pg_get_serial_sequence('deployments_release', 'id'),
              (SELECT max(id) FROM deployments_release));
SELECT setval(pg_get_serial_sequence('deployments_deployment', 'id'),
              (SELECT max(id) FROM deployments_deployment));
""",
    ),
]


if __name__ == "__main__":
    main()
