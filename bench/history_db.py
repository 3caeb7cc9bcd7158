"""Where the page benchmark's big history lives: its own PostgreSQL database.

`BENCH_HISTORY_DATABASE` names it (default `portal_bench_history`); the sizes come
from `BENCH_DEPLOYMENTS`, `BENCH_LOG_LINES` and `BENCH_BIG_LOG_LINES`, so a quick
run can use a small history (e.g. BENCH_DEPLOYMENTS=2000 BENCH_LOG_LINES=100000).
Loopback only.
"""

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DATABASE = os.environ.get("BENCH_HISTORY_DATABASE", "portal_bench_history")
SERVER = "postgresql://postgres@127.0.0.1:5432"


@dataclass(frozen=True)
class Sizes:
    deployments: int
    log_lines: int
    big_log_lines: int  # the one deployment with a very long log

    def as_dict(self) -> dict:
        return asdict(self)


def sizes_from_env() -> Sizes:
    deployments = int(os.environ.get("BENCH_DEPLOYMENTS", "100000"))
    log_lines = int(os.environ.get("BENCH_LOG_LINES", "5000000"))
    big = int(os.environ.get("BENCH_BIG_LOG_LINES", str(min(100_000, log_lines // 10))))
    if deployments < 100:
        raise SystemExit("BENCH_DEPLOYMENTS must be at least 100")
    if not 0 < big < log_lines:
        raise SystemExit("BENCH_BIG_LOG_LINES must be positive and below BENCH_LOG_LINES")
    return Sizes(deployments, log_lines, big)


def configure_django() -> None:
    """Point Django at the history database: the test settings (DEBUG off, static files
    served without a collectstatic manifest), PostgreSQL and Redis on loopback."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portal.settings_test",
        DATABASE_URL=f"{SERVER.replace('postgresql', 'postgres')}/{DATABASE}",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
