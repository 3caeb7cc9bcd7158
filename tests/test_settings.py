"""Settings read the environment strictly: a bad value stops start-up naming the variable."""

import json
import subprocess
import sys

import pytest

from tests.harness.worker import REPO

GOOD = {"SECRET_KEY": "k" * 60, "PATH": "/usr/bin:/bin"}


def start_django(then: str = "", **env) -> subprocess.CompletedProcess:
    """Import the production settings in a fresh interpreter with exactly this environment
    (and run `then`, Python, after)."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup()"
        + (f"\n{then}" if then else "")
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env={**GOOD, **env}, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


def test_production_settings_start_with_a_secret_key_and_nothing_else(tmp_path):
    result = start_django(PORTAL_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is shorter than 50 characters"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"PORTAL_ACCESS_LOG": "sometimes"}, "PORTAL_ACCESS_LOG='sometimes' is not a boolean"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL has the scheme 'mysql'"),
        ({"DATABASE_URL": "postgres://127.0.0.1:5432"}, "DATABASE_URL names no database"),
        (
            {"REDIS_URL": "http://127.0.0.1:6379"},
            "REDIS_URL='http://127.0.0.1:6379' is not a redis",
        ),
        ({"PORTAL_BASE_URL": "deploy.example.com"}, "PORTAL_BASE_URL='deploy.example.com' is not"),
        ({"PORTAL_LEASE_TTL_SECONDS": "ten"}, "PORTAL_LEASE_TTL_SECONDS='ten' is not a whole"),
        ({"DATABASE_URL_FILE": "/nonexistent/db"}, "DATABASE_URL_FILE points to '/nonexistent/db'"),
        ({"SECRET_KEY_FILE": "/nonexistent/key"}, "Set either SECRET_KEY or SECRET_KEY_FILE"),
        (
            {"DATABASE_URL": "postgres://h/db", "PORTAL_DB_POOL_MAX_SIZE": "lots"},
            "PORTAL_DB_POOL_MAX_SIZE='lots' is not a whole number",
        ),
        (
            {"DATABASE_URL": "postgres://h/db", "PORTAL_DB_POOL_MAX_SIZE": "0"},
            "PORTAL_DB_POOL_MAX_SIZE=0 is below the minimum of 1",
        ),
        (
            {"DATABASE_URL": "postgres://h/db", "PORTAL_DB_POOL_MIN_SIZE": "-1"},
            "PORTAL_DB_POOL_MIN_SIZE=-1 is below the minimum of 0",
        ),
        (
            {
                "DATABASE_URL": "postgres://h/db",
                "PORTAL_DB_POOL_MIN_SIZE": "8",
                "PORTAL_DB_POOL_MAX_SIZE": "4",
            },
            "PORTAL_DB_POOL_MAX_SIZE=4 is below PORTAL_DB_POOL_MIN_SIZE=8; raise the max",
        ),
        (
            {"DATABASE_URL": "postgres://h/db", "PORTAL_DB_POOL_TIMEOUT": "soon"},
            "PORTAL_DB_POOL_TIMEOUT='soon' is not a number",
        ),
        (
            {"DATABASE_URL": "postgres://h/db", "PORTAL_DB_POOL_TIMEOUT": "0"},
            "PORTAL_DB_POOL_TIMEOUT=0.0 is below the minimum of 0.1",
        ),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, env, message):
    result = start_django(PORTAL_VAR_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_secret_key_is_required_outside_the_dev_mode(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PORTAL_VAR_DIR": str(tmp_path)}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert "SECRET_KEY is required" in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text("f" * 50 + "\n")
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup();"
        "from django.conf import settings; print(settings.SECRET_KEY)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PORTAL_VAR_DIR": str(tmp_path),
        "SECRET_KEY_FILE": str(key_file),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip() == "f" * 50, result.stderr


def test_the_embedded_default_is_sqlite_with_wal_and_immediate_transactions(tmp_path):
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup();"
        "from django.db import connection; c = connection.cursor();"
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]);"
        "print(connection.settings_dict['OPTIONS']['transaction_mode'])"
    )
    env = {"PATH": "/usr/bin:/bin", "PORTAL_DEV": "true", "PORTAL_VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path}/portal.sqlite3"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["wal", "IMMEDIATE"], result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {**GOOD, "PORTAL_VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "deploy.example.com",
           "SECRET_KEY": "x7-Lq0vZ3pYd9wRk2sTn8uFb4hGc6jMa1eQi5oPl-XyWz" * 2}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_portal_var_dir_moves_the_embedded_database_and_the_broker(tmp_path):
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup();"
        "from django.conf import settings; from django.db import connection;"
        "connection.cursor().execute('CREATE TABLE probe (id integer)');"
        "print(connection.settings_dict['NAME']); print(settings.CELERY_BROKER_FOLDER)"
    )
    env = {"PATH": "/usr/bin:/bin", "PORTAL_DEV": "true", "PORTAL_VAR_DIR": str(tmp_path / "state")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    database, broker = result.stdout.split()
    assert database == str(tmp_path / "state" / "portal.sqlite3")
    assert broker == str(tmp_path / "state" / "broker")
    assert (tmp_path / "state" / "portal.sqlite3").stat().st_size > 0


def database_settings(code_before: str = "", **env) -> dict:
    """DATABASES['default'] as a fresh interpreter reads it, with this environment."""
    read = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    env = {**GOOD, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/portal", **env}
    setup = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings';"
    result = subprocess.run(
        [sys.executable, "-c", code_before + setup + "django.setup();" + read],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_connections_come_from_a_pool_sized_by_the_environment():
    database = database_settings(
        PORTAL_DB_POOL_MIN_SIZE="3", PORTAL_DB_POOL_MAX_SIZE="7", PORTAL_DB_POOL_TIMEOUT="2.5"
    )
    assert database["OPTIONS"]["pool"] == {"min_size": 3, "max_size": 7, "timeout": 2.5}
    # Django requires it with a pool: "closing" a connection gives it back.
    assert database["CONN_MAX_AGE"] == 0
    # The pool checks a connection before lending it (Django: check=check_connection).
    assert database["CONN_HEALTH_CHECKS"] is True


def test_the_pool_has_defaults_and_the_asgi_server_reads_the_same_settings():
    """No hidden switch for ASGI any more: uvicorn's processes and the workers alike
    borrow from a pool, so neither piles up connections per thread."""
    plain = database_settings()
    asgi = database_settings("import portal.asgi;")
    assert plain["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 20, "timeout": 10.0}
    assert asgi["OPTIONS"] == plain["OPTIONS"] and asgi["CONN_MAX_AGE"] == 0


def test_a_min_size_above_the_default_max_raises_the_max_with_it():
    database = database_settings(PORTAL_DB_POOL_MIN_SIZE="30")
    assert database["OPTIONS"]["pool"]["max_size"] == 30


def test_the_embedded_sqlite_database_has_no_pool(tmp_path):
    database = database_settings(DATABASE_URL=f"sqlite:///{tmp_path}/portal.sqlite3")
    assert "pool" not in database["OPTIONS"]


@pytest.mark.django_db
def test_the_configured_pool_opens_against_postgresql_and_lends_connections():
    """This test process's own settings: the pool serves the test database."""
    from django.db import connection

    pool = connection.pool
    assert pool is not None
    with pool.connection(timeout=10) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0]
    stats = pool.get_stats()
    assert stats["pool_max"] == connection.settings_dict["OPTIONS"]["pool"]["max_size"]


def test_each_celery_queue_has_its_own_exchange_and_routing_key_so_the_banner_reads_true():
    from django.conf import settings

    declared = {
        queue.name: (queue.exchange.name, queue.exchange.type, queue.routing_key)
        for queue in settings.CELERY_TASK_QUEUES
    }

    assert declared == {name: (name, "direct", name) for name in settings.CELERY_QUEUES.values()}


def test_beat_runs_at_warning_wherever_it_is_started():
    """Beat's INFO is one "Sending due task" line every few seconds, burying the demo's output."""
    places = ["Procfile", "docker-compose.yml", "k8s/portal.yaml", "README.md"]
    for place in places:
        text = (REPO / place).read_text()
        assert "beat --loglevel INFO" not in text and '"beat", "--loglevel", "INFO"' not in text
    assert "beat: celery -A portal beat --loglevel WARNING" in (REPO / "Procfile").read_text()
