"""Settings for the Vizora Deploy Portal, read strictly from the environment.

Defaults give the embedded mode (SQLite and a broker that needs no server);
tests and production set DATABASE_URL and REDIS_URL. See README.md for the
table of every variable.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from kombu import Exchange, Queue

from portal import env

BASE_DIR = Path(__file__).resolve().parent.parent
# Embedded mode's state (SQLite database, broker files); a relative path is taken
# from the repository root, like a relative sqlite:/// DATABASE_URL.
VAR_DIR = BASE_DIR / env.string("PORTAL_VAR_DIR", "var")

# PORTAL_DEV=true is what `make run` sets: a local demo with DEBUG and a throw-away key.
DEV_MODE = env.boolean("PORTAL_DEV", False)
DEBUG = env.boolean("DEBUG", DEV_MODE)
if DEBUG and not DEV_MODE:
    raise ImproperlyConfigured("DEBUG=true is for local development only; set PORTAL_DEV=true too.")
DEV_SECRET_KEY = "dev-only-insecure-key-not-for-production-use-0123456789"
SECRET_KEY = env.string("SECRET_KEY", DEV_SECRET_KEY if DEV_MODE else None)  # dev: PORTAL_DEV=true
if not DEV_MODE and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is the development key; set a real one.")
if not DEV_MODE and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY is shorter than 50 characters; use a long random key.")

ALLOWED_HOSTS = env.word_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEV_MODE else "")
PORTAL_BASE_URL = env.http_url("PORTAL_BASE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env.word_list("CSRF_TRUSTED_ORIGINS", PORTAL_BASE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "portal",
    "audit",
    "catalog",
    "releases",
    "deployments",
    "api",
    "accounts",
    "web",
    "live",
]
# demo/ (seed_demo for `make run`) is in the repository but not in the production image
# (.dockerignore): listed by its folder, never imported from here, so the image runs without it.
if (BASE_DIR / "demo" / "apps.py").is_file():
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    "portal.access_log.AccessLogMiddleware",  # outermost: times the whole request
    "django.middleware.security.SecurityMiddleware",
    "portal.asgi_streams.AsyncStreamsUnderAsgiMiddleware",  # WhiteNoise's files under ASGI
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "api.audit.ApiAuditMiddleware",
    # Last, so its process_exception is asked first: a lost database answers 503.
    "portal.database_errors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "web" / "templates"],  # before the apps': the admin's overrides
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.navigation",
            ],
        },
    },
]

EMBEDDED_DATABASE_URL = f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"  # sqlite:////abs/path
DATABASES = {"default": env.database("DATABASE_URL", EMBEDDED_DATABASE_URL, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.string("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: a strict CSP (no inline script or style), secure cookies outside DEBUG.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SESSION_COOKIE_SECURE = not DEBUG and env.boolean("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", not DEBUG)
# Kubelet probes speak plain HTTP to the pod; they must not be redirected.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^health/ready$"]
# Only a proxy in front of the portal may say what the client spoke (X-Forwarded-Proto)
# and where it came from (the last hop of X-Forwarded-For): without one, any client could
# claim https or another address. Set it only when clients cannot reach the portal but
# through that proxy.
PORTAL_TRUSTED_PROXY = env.boolean("PORTAL_TRUSTED_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PORTAL_TRUSTED_PROXY else None
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Celery: Redis when REDIS_URL is set; otherwise kombu's filesystem transport,
# which needs no server (the embedded mode of `make run`).
REDIS_URL = env.redis_url("REDIS_URL")
CELERY_QUEUE_PREFIX = env.string("CELERY_QUEUE_PREFIX", "portal")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message whose worker died unacknowledged is redelivered after this;
        # the engine's leases, not this timeout, decide when a step is retried.
        "visibility_timeout": env.integer("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
        # A worker takes from its queues in the order it names them (portal/workers.py:
        # the urgent queue before the deployments one), not round-robin: BRPOP answers
        # from the first of its keys that holds a message.
        "queue_order_strategy": "priority",
    }
else:
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"  # writes messages atomically
    for folder in ("queue", "processed", "control"):
        (CELERY_BROKER_FOLDER / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # kombu keeps its exchange tables in ./control unless told: keep them in var/.
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "store_processed": False,
    }
# The cache holds the sign-in and API throttles' counters (accounts/throttling.py): Redis
# when there is one; otherwise files under var/, which every process of the embedded
# `make run` shares. Keys carry a prefix, so test processes sharing one Redis never meet.
PORTAL_CACHE_PREFIX = env.string("PORTAL_CACHE_PREFIX", "portal")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": PORTAL_CACHE_PREFIX,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": PORTAL_CACHE_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Threads, not prefork: steps mostly wait on HTTP (Kubernetes, webhooks), and one
# process per worker keeps its memory to one copy of Django and the clients.
CELERY_WORKER_POOL = env.string("CELERY_WORKER_POOL", "threads")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# In this order a worker of every queue (tests, BENCH_SHARED_WORKER) takes from them:
# clicks first, then maintenance, then the looks of deployments.
CELERY_QUEUES = {
    "urgent": f"{CELERY_QUEUE_PREFIX}.urgent",
    "maintenance": f"{CELERY_QUEUE_PREFIX}.maintenance",
    "notifications": f"{CELERY_QUEUE_PREFIX}.notifications",
    "deployments": f"{CELERY_QUEUE_PREFIX}.deployments",
    "builds": f"{CELERY_QUEUE_PREFIX}.builds",
}
# Each queue with its own exchange and routing key: without them kombu gives every queue the
# default queue's, and the worker's banner says "deployments exchange=maintenance".
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in CELERY_QUEUES.values()
]
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUES["maintenance"]
CELERY_TASK_ROUTES = {
    "deployments.tasks.advance_deployment": {"queue": CELERY_QUEUES["deployments"]},
    "deployments.tasks.send_notification": {"queue": CELERY_QUEUES["notifications"]},
    "portal.tasks.*": {"queue": CELERY_QUEUES["maintenance"]},
}
CELERY_TASK_ROUTES["deployments.tasks.reap_stale_steps"] = {"queue": CELERY_QUEUES["maintenance"]}
CELERY_TASK_ROUTES["deployments.tasks.run_pre_checks"] = {"queue": CELERY_QUEUES["deployments"]}
CELERY_TASK_ROUTES["deployments.tasks.sweep"] = {"queue": CELERY_QUEUES["maintenance"]}
CELERY_TASK_ROUTES["deployments.tasks.observe_clusters"] = {"queue": CELERY_QUEUES["maintenance"]}
CELERY_TASK_ROUTES["deployments.tasks.build_release"] = {"queue": CELERY_QUEUES["builds"]}
# Beat keeps its schedule in memory: the jobs are plain intervals, so nothing is
# lost on a restart, and no shelve file can be corrupted by a killed process.
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"

# The engine's timing. Tests shorten these; production keeps the defaults.
PORTAL_LEASE_TTL_SECONDS = env.integer("PORTAL_LEASE_TTL_SECONDS", 30, minimum=1)
PORTAL_HEARTBEAT_SECONDS = env.decimal("PORTAL_HEARTBEAT_SECONDS", 5.0, minimum=0.05)
if PORTAL_HEARTBEAT_SECONDS >= PORTAL_LEASE_TTL_SECONDS:
    raise ImproperlyConfigured(
        "PORTAL_HEARTBEAT_SECONDS must be shorter than PORTAL_LEASE_TTL_SECONDS, "
        "or every running step looks dead to the reaper."
    )
PORTAL_STEP_MAX_ATTEMPTS = env.integer("PORTAL_STEP_MAX_ATTEMPTS", 3, minimum=1)
PORTAL_SWEEP_SECONDS = env.decimal("PORTAL_SWEEP_SECONDS", 15.0, minimum=0.1)
# A step waits between two looks instead of sleeping on a worker: how often a migration
# Job is looked at, the shortest and longest wait between two looks at a rollout (it
# backs off while a rollout is far from done, deployments/steps/workloads.py), and how
# overdue a look must be before the sweeper re-sends it (its countdown message was
# lost: Redis restarted).
PORTAL_LOOK_SECONDS = env.decimal("PORTAL_LOOK_SECONDS", 2.0, minimum=0.05)
PORTAL_LOOK_MAX_SECONDS = env.decimal("PORTAL_LOOK_MAX_SECONDS", 15.0, minimum=0.05)
PORTAL_LOOK_GRACE_SECONDS = env.decimal("PORTAL_LOOK_GRACE_SECONDS", 5.0, minimum=0.1)
PORTAL_MIGRATION_TIMEOUT_SECONDS = env.integer("PORTAL_MIGRATION_TIMEOUT_SECONDS", 600, minimum=1)
# How long a step waits out an unreachable cluster API (transport errors, 5xx) before failing.
PORTAL_CLUSTER_RETRY_SECONDS = env.decimal("PORTAL_CLUSTER_RETRY_SECONDS", 120.0, minimum=0.0)
PORTAL_SMOKE_ATTEMPTS = env.integer("PORTAL_SMOKE_ATTEMPTS", 5, minimum=1)
PORTAL_SMOKE_TIMEOUT_SECONDS = env.decimal("PORTAL_SMOKE_TIMEOUT_SECONDS", 5.0, minimum=0.1)
PORTAL_SMOKE_RETRY_SECONDS = env.decimal("PORTAL_SMOKE_RETRY_SECONDS", 2.0, minimum=0.0)
# A CA bundle trusted for smoke tests besides the system's (an internal CA).
PORTAL_EXTRA_CA_FILE = env.string("PORTAL_EXTRA_CA_FILE", "")
# Automatic checklist checks (deployments/checks/): how long one may take before it
# fails saying so, and how often the post-deployment checks look during the soak.
PORTAL_CHECK_TIMEOUT_SECONDS = env.decimal("PORTAL_CHECK_TIMEOUT_SECONDS", 10.0, minimum=0.1)
PORTAL_SOAK_INTERVAL_SECONDS = env.decimal("PORTAL_SOAK_INTERVAL_SECONDS", 15.0, minimum=0.05)
# While a pre-deployment check fails or waits (for CI), it is checked again this often.
PORTAL_PRECHECK_RETRY_SECONDS = env.decimal("PORTAL_PRECHECK_RETRY_SECONDS", 60.0, minimum=0.1)
# The demo shortens every environment's soak window by this factor (1 = as the catalog says).
PORTAL_SOAK_SCALE = env.decimal("PORTAL_SOAK_SCALE", 1.0, minimum=0.0)
PORTAL_REAP_SECONDS = env.decimal("PORTAL_REAP_SECONDS", 10.0, minimum=0.1)
# What really runs: how often the observer reads every cluster, and how long one read
# waits out a blip of the API before recording the cluster as unreachable.
PORTAL_OBSERVE_SECONDS = env.decimal("PORTAL_OBSERVE_SECONDS", 10.0, minimum=0.1)
PORTAL_OBSERVE_RETRY_SECONDS = env.decimal("PORTAL_OBSERVE_RETRY_SECONDS", 2.0, minimum=0.0)
CELERY_BEAT_SCHEDULE = {
    "reap-stale-steps": {
        "task": "deployments.tasks.reap_stale_steps",
        "schedule": PORTAL_REAP_SECONDS,
        "options": {"expires": PORTAL_REAP_SECONDS},
    },
    "sweep": {
        "task": "deployments.tasks.sweep",
        "schedule": PORTAL_SWEEP_SECONDS,
        "options": {"expires": PORTAL_SWEEP_SECONDS},
    },
    "observe-clusters": {
        "task": "deployments.tasks.observe_clusters",
        "schedule": PORTAL_OBSERVE_SECONDS,
        "options": {"expires": PORTAL_OBSERVE_SECONDS},
    },
}
# Builds (releases/build_requests.py, releases/builds.py) on a Docker engine, pushed to a registry.
DOCKER_HOST = env.string("DOCKER_HOST", "unix:///var/run/docker.sock")
# At most this many builds run at once across all workers (a claim under a lock in the
# database, so it holds however many workers consume the builds queue); others wait.
PORTAL_BUILD_CONCURRENCY = env.integer("PORTAL_BUILD_CONCURRENCY", 2, minimum=1)
PORTAL_BUILD_TIMEOUT_SECONDS = env.integer("PORTAL_BUILD_TIMEOUT_SECONDS", 1800, minimum=1)
# How often a running build looks for a cancellation and its deadline.
PORTAL_BUILD_POLL_SECONDS = env.decimal("PORTAL_BUILD_POLL_SECONDS", 0.5, minimum=0.01)
# docker's config.json format: {"auths": {"host:port": {"auth": base64(user:password)}}}.
PORTAL_REGISTRY_CREDENTIALS_FILE = env.string("PORTAL_REGISTRY_CREDENTIALS_FILE", "")
PORTAL_REGISTRY_TIMEOUT_SECONDS = env.decimal("PORTAL_REGISTRY_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# git-credential-store format, one https://user:token@host line per host.
PORTAL_GIT_CREDENTIALS_FILE = env.string("PORTAL_GIT_CREDENTIALS_FILE", "")
PORTAL_BUILD_WORK_DIR = Path(env.string("PORTAL_BUILD_WORK_DIR", str(VAR_DIR / "builds")))

# An Idempotency-Key whose request is still "in flight" after this long is taken over by
# the next retry (the request died: its process was killed before it answered).
PORTAL_IDEMPOTENCY_STALE_SECONDS = env.integer("PORTAL_IDEMPOTENCY_STALE_SECONDS", 300, minimum=1)
# Throttling failed sign-ins and API token failures (accounts/throttling.py): this many
# failures within one window engage a throttle per account (or API token prefix) and per
# client address; its wait starts at the first and doubles each time it engages again,
# up to the longest (a back-off, never a permanent lock).
PORTAL_THROTTLE_ACCOUNT_FAILURES = env.integer("PORTAL_THROTTLE_ACCOUNT_FAILURES", 10, minimum=1)
PORTAL_THROTTLE_ADDRESS_FAILURES = env.integer("PORTAL_THROTTLE_ADDRESS_FAILURES", 30, minimum=1)
PORTAL_THROTTLE_WINDOW_SECONDS = env.integer("PORTAL_THROTTLE_WINDOW_SECONDS", 900, minimum=1)
PORTAL_THROTTLE_FIRST_WAIT_SECONDS = env.integer(
    "PORTAL_THROTTLE_FIRST_WAIT_SECONDS", 60, minimum=1
)
PORTAL_THROTTLE_MAX_WAIT_SECONDS = env.integer("PORTAL_THROTTLE_MAX_WAIT_SECONDS", 900, minimum=1)
if PORTAL_THROTTLE_MAX_WAIT_SECONDS < PORTAL_THROTTLE_FIRST_WAIT_SECONDS:
    raise ImproperlyConfigured(
        "PORTAL_THROTTLE_MAX_WAIT_SECONDS is shorter than PORTAL_THROTTLE_FIRST_WAIT_SECONDS; "
        "the longest wait must be at least the first."
    )

# Output limits: a line longer than this is cut, and a step stops storing output
# past its cap (each with a visible notice), so a chatty pod cannot fill the database.
PORTAL_LOG_LINE_MAX_CHARS = env.integer("PORTAL_LOG_LINE_MAX_CHARS", 4000, minimum=80)
PORTAL_LOG_STEP_MAX_BYTES = env.integer("PORTAL_LOG_STEP_MAX_BYTES", 512 * 1024, minimum=1024)
# The deployment page renders the last this many lines; earlier ones load on request.
PORTAL_LOG_PAGE_LINES = env.integer("PORTAL_LOG_PAGE_LINES", 300, minimum=1)
# Extra values to mask in every log line (comma-separated), besides the portal's own secrets.
PORTAL_MASKED_VALUES = env.word_list("PORTAL_MASKED_VALUES")
# sync_catalog refuses a bigger file without reading it whole (a catalog is a few hundred lines).
PORTAL_CATALOG_MAX_BYTES = env.integer("PORTAL_CATALOG_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)

# Live pages (live/): Redis channels carry this prefix, so test runs sharing
# one Redis never hear each other; the hub's timing and each viewer's queue bound.
PORTAL_CHANNEL_PREFIX = env.string("PORTAL_CHANNEL_PREFIX", "")
# Without Redis the hub polls the database at this interval; with Redis it still
# re-reads what it watches at the slower safety interval (a missed publish costs that).
PORTAL_LIVE_POLL_SECONDS = env.decimal("PORTAL_LIVE_POLL_SECONDS", 0.5, minimum=0.01)
PORTAL_LIVE_SAFETY_POLL_SECONDS = env.decimal("PORTAL_LIVE_SAFETY_POLL_SECONDS", 5.0, minimum=0.1)
PORTAL_LIVE_HEARTBEAT_SECONDS = env.decimal("PORTAL_LIVE_HEARTBEAT_SECONDS", 15.0, minimum=0.1)
# The shortest time between two of the hub's ticks: what arrives meanwhile goes out in
# one write per viewer (coalescing), so the write rate does not follow the line rate.
PORTAL_LIVE_TICK_SECONDS = env.decimal("PORTAL_LIVE_TICK_SECONDS", 0.05, minimum=0.0)
# What a viewer may have waiting unsent before it is disconnected (it then resumes
# from its Last-Event-ID); one frame bigger than this still goes out alone.
PORTAL_LIVE_QUEUE_MAX_BYTES = env.integer("PORTAL_LIVE_QUEUE_MAX_BYTES", 1024 * 1024, minimum=1024)
# The most log lines one `lines` event carries; the rest follow on the next tick.
PORTAL_LIVE_LINES_PER_EVENT = env.integer("PORTAL_LIVE_LINES_PER_EVENT", 2000, minimum=1)
# The browser's reconnect delay (`retry:`), plus a random jitter up to the second figure,
# so a restart does not bring every viewer back in the same millisecond.
PORTAL_LIVE_RETRY_MS = env.integer("PORTAL_LIVE_RETRY_MS", 2000, minimum=100)
PORTAL_LIVE_RETRY_JITTER_MS = env.integer("PORTAL_LIVE_RETRY_JITTER_MS", 2000, minimum=0)
# false: one write per event per viewer (the naive fan-out the benchmark compares against).
PORTAL_LIVE_COALESCE = env.boolean("PORTAL_LIVE_COALESCE", True)

# Notifications: Slack incoming webhook and a generic JSON webhook (secrets).
SLACK_WEBHOOK_URL = env.raw("SLACK_WEBHOOK_URL") or ""
NOTIFY_WEBHOOK_URL = env.raw("NOTIFY_WEBHOOK_URL") or ""
PORTAL_NOTIFY_MAX_ATTEMPTS = env.integer("PORTAL_NOTIFY_MAX_ATTEMPTS", 8, minimum=1)
PORTAL_NOTIFY_BACKOFF_SECONDS = env.decimal("PORTAL_NOTIFY_BACKOFF_SECONDS", 2.0, minimum=0.01)
PORTAL_NOTIFY_TIMEOUT_SECONDS = env.decimal("PORTAL_NOTIFY_TIMEOUT_SECONDS", 5.0, minimum=0.1)
PORTAL_NOTIFY_LEASE_SECONDS = env.decimal("PORTAL_NOTIFY_LEASE_SECONDS", 60.0, minimum=0.1)
PORTAL_NOTIFY_LOST_AFTER_SECONDS = env.decimal(
    "PORTAL_NOTIFY_LOST_AFTER_SECONDS", 60.0, minimum=0.1
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "bare": {"format": "%(message)s"},  # the access log's lines are whole JSON objects
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "access": {"class": "logging.StreamHandler", "formatter": "bare"},
    },
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs whole request URLs at INFO, and webhook URLs are secrets.
        "httpx": {"level": "WARNING"},
        # One JSON line per request (portal/access_log.py), on stderr like the rest.
        "portal.access": {
            "handlers": ["access"],
            "level": "INFO" if env.boolean("PORTAL_ACCESS_LOG", True) else "WARNING",
            "propagate": False,
        },
    },
}
