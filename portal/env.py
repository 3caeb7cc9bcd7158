"""Strict readers for settings that come from the environment.

Every reader names the variable in its error, so a bad value stops start-up
with a message a person can act on. ``NAME_FILE`` variants let secrets come
from files (Docker and Kubernetes secrets) instead of the process environment.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def raw(name: str, default: str | None = None) -> str | None:
    """The value of NAME, or the contents of the file NAME_FILE points to."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path and name in os.environ:
        raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both.")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE points to {file_path!r}, which cannot be read: {exc.strerror}."
            ) from exc
    return os.environ.get(name, default)


def string(name: str, default: str | None = None) -> str:
    value = raw(name, default)
    if value is None:
        raise ImproperlyConfigured(
            f"{name} is required; set it in the environment (see README.md)."
        )
    return value


def boolean(name: str, default: bool = False) -> bool:
    value = raw(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false.")


def integer(name: str, default: int, minimum: int = 0) -> int:
    value = raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}.")
    return number


def decimal(name: str, default: float, minimum: float = 0.0) -> float:
    value = raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}.")
    return number


def word_list(name: str, default: str = "") -> list[str]:
    value = raw(name, default) or ""
    return [word.strip() for word in value.split(",") if word.strip()]


def http_url(name: str, default: str) -> str:
    value = string(name, default).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an http(s) URL; use e.g. https://deploy.example.com."
        )
    return value


def database(name: str, default: str, base_dir: Path) -> dict:
    """A DATABASES entry from a URL: postgres://user:pass@host:port/db or sqlite:///path."""
    url = string(name, default)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite_database(url, parts.path, base_dir)
    if parts.scheme in {"postgres", "postgresql"}:
        return _postgres_database(name, parts)
    raise ImproperlyConfigured(
        f"{name} has the scheme {parts.scheme!r}; use postgres://… or sqlite:///…"
    )


def _sqlite_database(url: str, path: str, base_dir: Path) -> dict:
    # sqlite:///relative/path and sqlite:////absolute/path, as dj-database-url reads them.
    file_path = Path(path[1:]) if path.startswith("/") else Path(path)
    if not file_path.is_absolute():
        file_path = base_dir / file_path
    file_path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": file_path,
        "OPTIONS": {
            # Embedded mode: WAL lets readers run beside the one writer, IMMEDIATE
            # takes the write lock at BEGIN so two writers queue instead of failing
            # half-way with "database is locked", and the timeout bounds the wait.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def _postgres_database(name: str, parts) -> dict:
    database_name = parts.path.lstrip("/")
    if not database_name:
        raise ImproperlyConfigured(f"{name} names no database; add /dbname to the URL.")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number.") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(database_name),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        # Connections come from a pool per process (psycopg_pool, through Django): a
        # request, a task or a hub tick borrows one and gives it back when it ends, so a
        # process never holds more than the pool's max_size, however many threads it
        # runs. Django requires CONN_MAX_AGE=0 with a pool ("closing" returns it).
        "CONN_MAX_AGE": 0,
        # With a pool: the pool checks a connection before lending it (a connection
        # PostgreSQL dropped, e.g. across a restart, is replaced, not handed out).
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"pool": database_pool(), "options": session_options()},
    }


def session_options() -> str:
    """PostgreSQL settings of every portal session (libpq `options`).

    A transaction left open longer than PORTAL_DB_IDLE_TRANSACTION_SECONDS ends its
    session: a worker frozen inside one (stopped, swapping, stuck in a debugger) would
    otherwise hold its row locks, and the reaper and the sweeper, which take the same
    locks to take its step back, would wait behind it for as long as it stays frozen.
    No transaction of the portal waits on anything but the database while open."""
    seconds = decimal("PORTAL_DB_IDLE_TRANSACTION_SECONDS", 60.0, minimum=1.0)
    return f"-c idle_in_transaction_session_timeout={round(seconds * 1000)}"


def database_pool() -> dict:
    """The psycopg_pool options of one process's pool, from PORTAL_DB_POOL_*."""
    min_size = integer("PORTAL_DB_POOL_MIN_SIZE", 2, minimum=0)
    max_size = integer("PORTAL_DB_POOL_MAX_SIZE", max(20, min_size), minimum=1)
    if max_size < min_size:
        raise ImproperlyConfigured(
            f"PORTAL_DB_POOL_MAX_SIZE={max_size} is below PORTAL_DB_POOL_MIN_SIZE={min_size}; "
            "raise the max or lower the min."
        )
    # How long a borrower waits for a free connection before PoolTimeout (a 503).
    timeout = decimal("PORTAL_DB_POOL_TIMEOUT", 10.0, minimum=0.1)
    return {"min_size": min_size, "max_size": max_size, "timeout": timeout}


def redis_url(name: str) -> str | None:
    value = raw(name)
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name}={_without_password(value)!r} is not a redis:// URL; "
            "use e.g. redis://127.0.0.1:6379/0."
        )
    return value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
