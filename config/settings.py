"""One settings module, driven by the environment (see README "Configuration")."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
import environ
from csp.constants import NONE, SELF

# Lets generic Django classes (ModelAdmin[Model], QuerySet[Model]) be subscripted at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


def _env_words(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks around and between items are dropped, as env.list does not."""
    return [word for word in env.list(name, cast=str.strip, default=default) if word]


DEBUG = env.bool("DEBUG", default=True)
# Secrets are read as they are: env.str takes a value starting with "$" for a reference to another variable.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"
ALLOWED_HOSTS = _env_words("ALLOWED_HOSTS", default=["*"] if DEBUG else [])
if not DEBUG and (not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS):
    raise RuntimeError("ALLOWED_HOSTS must name the site's hosts (not '*') when DEBUG is off")
CSRF_TRUSTED_ORIGINS = _env_words("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "csp",
    "graphene_django",
    "graphene_django_graphiql_static",
    "channels",
    "waffle",
    "django_prometheus",
    "delivery",
    "driver_api",
    "restaurant",
    "events",
    "consumers",
    "side_effects",
    "aggregators",
    "integrations",
    "devtools",
]

# django-prometheus: the first and the last middleware time each request and count it by view, method
# and status (`/metrics`; README "Health and metrics").
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "delivery.api.request_limits.RequestLimitMiddleware",
    "delivery.api.errors.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# Request latency buckets: the driver API answers in milliseconds, so finer than django-prometheus's
# default (which starts at 10 ms).
PROMETHEUS_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, float("inf"))

if env.bool("SQL_COUNT_HEADER", default=False):
    MIDDLEWARE.insert(0, "config.sql_count.SqlCountMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite under var/ for `make run` on a fresh machine; PostgreSQL everywhere else.
DATABASES = {"default": dj_database_url.parse(env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool, per process: a request borrows a connection and returns it when it ends,
    # so no request opens one and a process never holds more than DB_POOL_MAX_SIZE (README "Connections").
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    if env.bool("DB_POOL", default=True):
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=16),
            "timeout": env.float("DB_POOL_TIMEOUT_SECONDS", default=10.0),
        }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The devserver runs web, relay and consumers in one process: wait for the write lock.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    # Not a rule on passwords: its `password_changed` hook revokes the user's API tokens.
    {"NAME": "delivery.services.accounts.RevokeTokensOnPasswordChange"},
]

# API tokens (django-rest-knox): random, stored as SHA-512 digests, one per login. No expiry unless set.
_TOKEN_TTL_HOURS = env.float("API_TOKEN_TTL_HOURS", default=0.0)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=_TOKEN_TTL_HOURS) if _TOKEN_TTL_HOURS > 0 else None,
    "AUTH_HEADER_PREFIX": "Token",
}

# Request bodies (every endpoint): over this many bytes is 413; JSON deeper than this is 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
REQUEST_BODY_MAX_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
REQUEST_JSON_MAX_DEPTH = 64

# Throttles (DRF, counted in the default cache: Redis when REDIS_URL is set, so every process shares them).
THROTTLE_RATES = {
    # Failed logins for one phone/username, and from one address.
    "login_account": env.str("THROTTLE_LOGIN_ACCOUNT", default="10/min"),
    "login_address": env.str("THROTTLE_LOGIN_ADDRESS", default="30/min"),
    # Aggregator webhooks from one address.
    "webhook": env.str("THROTTLE_WEBHOOK", default="1200/min"),
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ar", "العربية")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/restaurant/login/"

REDIS_URL = env.str("REDIS_URL", default="")

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"}
    ),
    # Flags are cached per process for at most 5 s, so an operator's change reaches
    # every web and worker process within that time without a shared cache.
    "flags": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "flags",
        "TIMEOUT": env.int("FLAG_CACHE_SECONDS", default=5),
    },
}

WAFFLE_CACHE_NAME = "flags"
WAFFLE_FLAG_DEFAULT = False
WAFFLE_SWITCH_DEFAULT = False
WAFFLE_CREATE_MISSING_FLAGS = False

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["delivery.api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "delivery.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Proxies in front of the app whose X-Forwarded-For may be trusted; 0 = the socket address only,
    # so a client cannot dodge per-address throttles by inventing X-Forwarded-For.
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Delivery platform REST API",
    "DESCRIPTION": "Sessions, customer orders, the restaurant dashboard and aggregator webhooks (contract section 2).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
}

GRAPHENE = {
    "SCHEMA": "driver_api.schema.schema",
    "ATOMIC_MUTATIONS": False,
    # GraphiQL keeps the `Authorization` header typed in its Headers pane across reloads.
    "GRAPHIQL_SHOULD_PERSIST_HEADERS": True,
}

# Celery: eager (in-process) unless a Redis broker is configured.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"

# Kafka. Unset bootstrap servers select the embedded (librdkafka mock cluster) broker.
KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS", default="")
KAFKA_TOPIC_PREFIX = env.str("KAFKA_TOPIC_PREFIX", default="")
KAFKA_BOOTSTRAP_FILE = VAR_DIR / "kafka.bootstrap"
KAFKA_PRODUCER_LINGER_MS = env.int("KAFKA_PRODUCER_LINGER_MS", default=5)
# Small enough that a member that died is replaced in seconds (Tansu's joins take about half of it).
KAFKA_CONSUMER_SESSION_TIMEOUT_MS = env.int("KAFKA_CONSUMER_SESSION_TIMEOUT_MS", default=6000)
# Longest pause between two polls before the member is expelled; the runtime polls between batches.
KAFKA_CONSUMER_MAX_POLL_INTERVAL_MS = env.int("KAFKA_CONSUMER_MAX_POLL_INTERVAL_MS", default=60000)
# Static membership: a restarted member with the same id gets its partitions back without a rebalance.
# Give each running process its own id (e.g. the container's name); empty = dynamic membership.
KAFKA_CONSUMER_INSTANCE_ID = env.str("KAFKA_CONSUMER_INSTANCE_ID", default="")
# Kafka answers a waiting fetch as soon as data arrives; the embedded broker only when the wait ends.
KAFKA_CONSUMER_FETCH_WAIT_MS = env.int("KAFKA_CONSUMER_FETCH_WAIT_MS", default=500 if KAFKA_BOOTSTRAP_SERVERS else 10)
# Outbox relay: NOTIFY wakes it on PostgreSQL; this is the polling fallback (and SQLite's only way).
# Schema-check each event as it is written (DEBUG and the suite); consumers check every event they read.
EVENTS_VALIDATE_ON_WRITE = env.bool("EVENTS_VALIDATE_ON_WRITE", default=DEBUG)
OUTBOX_RELAY_POLL_SECONDS = env.float("OUTBOX_RELAY_POLL_SECONDS", default=0.5)
OUTBOX_RELAY_BATCH_SIZE = env.int("OUTBOX_RELAY_BATCH_SIZE", default=500)
OUTBOX_RETENTION_HOURS = env.float("OUTBOX_RETENTION_HOURS", default=168.0)
# The producer's message.max.bytes: publish() refuses a bigger event, so it never reaches the relay.
KAFKA_MESSAGE_MAX_BYTES = env.int("KAFKA_MESSAGE_MAX_BYTES", default=1000000)
# A delivery report comes within this time (success or failure); an outage past it is retried by the relay.
KAFKA_DELIVERY_TIMEOUT_MS = env.int("KAFKA_DELIVERY_TIMEOUT_MS", default=30000)
# No report for this long while the broker answers metadata: the producer is replaced (new producer id).
OUTBOX_RELAY_STALL_SECONDS = env.float("OUTBOX_RELAY_STALL_SECONDS", default=10.0)
# An event the broker refuses this many times is parked (set aside) so the rest keeps flowing.
OUTBOX_PARK_AFTER_ATTEMPTS = env.int("OUTBOX_PARK_AFTER_ATTEMPTS", default=3)
# /readyz: not ready when the oldest publishable event has waited longer than this, or anything is parked.
OUTBOX_READY_MAX_AGE_SECONDS = env.float("OUTBOX_READY_MAX_AGE_SECONDS", default=30.0)
# Consumer runtime defaults (a ConsumerDefinition may override them).
CONSUMER_MAX_ATTEMPTS = env.int("CONSUMER_MAX_ATTEMPTS", default=5)
CONSUMER_RETRY_BACKOFF_SECONDS = env.float("CONSUMER_RETRY_BACKOFF_SECONDS", default=0.5)
# Bounds every statement a handler runs (`SET LOCAL statement_timeout`); outbound HTTP has its own timeout.
CONSUMER_STATEMENT_TIMEOUT_MS = env.int("CONSUMER_STATEMENT_TIMEOUT_MS", default=30000)
# Messages of one partition handled in one transaction (one commit, one ProcessedEvent insert).
CONSUMER_BATCH_SIZE = env.int("CONSUMER_BATCH_SIZE", default=200)
# Messages read ahead and waiting in the runtime before the broker is asked to wait.
CONSUMER_MAX_BUFFERED = env.int("CONSUMER_MAX_BUFFERED", default=2000)
# Keys of one batch handled at once by a consumer with `concurrent_keys` (each key's events in order).
CONSUMER_HTTP_CONCURRENCY = env.int("CONSUMER_HTTP_CONCURRENCY", default=8)
# Per-partition dead-letter limit, kept in the database: it survives restarts and rebalances.
CONSUMER_DLQ_RATIO_LIMIT = env.float("CONSUMER_DLQ_RATIO_LIMIT", default=0.5)
CONSUMER_DLQ_RATIO_WINDOW = env.int("CONSUMER_DLQ_RATIO_WINDOW", default=50)
CONSUMER_DLQ_MAX_CONSECUTIVE = env.int("CONSUMER_DLQ_MAX_CONSECUTIVE", default=20)
# The health file is refreshed while the consumer makes progress (or has nothing to do).
CONSUMER_LIVENESS_DIR = Path(env.str("CONSUMER_LIVENESS_DIR", default=str(VAR_DIR / "consumers")))
CONSUMER_HEALTH_STALL_SECONDS = env.float("CONSUMER_HEALTH_STALL_SECONDS", default=60.0)
# Retention of the idempotency and effect records (a periodic task prunes older rows).
PROCESSED_EVENT_RETENTION_DAYS = env.float("PROCESSED_EVENT_RETENTION_DAYS", default=14.0)
EFFECT_RECORD_RETENTION_DAYS = env.float("EFFECT_RECORD_RETENTION_DAYS", default=90.0)
RETENTION_PRUNE_SECONDS = env.float("RETENTION_PRUNE_SECONDS", default=3600.0)
# Extra modules that register consumers (e.g. ones defined by tests), comma-separated.
CONSUMER_EXTRA_MODULES = _env_words("CONSUMER_EXTRA_MODULES", default=[])

# External services; unset URLs select console backends that record what they would send.
WASEAT_BASE_URL = env.str("WASEAT_BASE_URL", default="")
WASEAT_API_KEY = os.environ.get("WASEAT_API_KEY", "")
PUSH_GATEWAY_URL = env.str("PUSH_GATEWAY_URL", default="")
RAPPI_API_BASE_URL = env.str("RAPPI_API_BASE_URL", default="")
RAPPI_WEBHOOK_SECRET = os.environ.get("RAPPI_WEBHOOK_SECRET", "")
if not RAPPI_WEBHOOK_SECRET:
    if not DEBUG:
        raise RuntimeError("RAPPI_WEBHOOK_SECRET must be set when DEBUG is off")
    RAPPI_WEBHOOK_SECRET = "dev-rappi-webhook-secret"
AGGREGATOR_POLL_SECONDS = env.float("AGGREGATOR_POLL_SECONDS", default=10.0)
HTTP_CLIENT_TIMEOUT_SECONDS = env.float("HTTP_CLIENT_TIMEOUT_SECONDS", default=5.0)
HTTP_CLIENT_MAX_ATTEMPTS = env.int("HTTP_CLIENT_MAX_ATTEMPTS", default=4)
HTTP_CLIENT_BACKOFF_SECONDS = env.float("HTTP_CLIENT_BACKOFF_SECONDS", default=0.2)
# A close the old path owes WASEAT and has not sent this long after its request committed is handed to
# the waseat consumer (its process died in between). Keep it above a request's longest close: the
# attempts' timeouts and backoff (4 x 5 s plus about 3 s by default).
WASEAT_CLOSE_PENDING_SECONDS = env.float("WASEAT_CLOSE_PENDING_SECONDS", default=120.0)
WASEAT_CLOSE_SWEEP_SECONDS = env.float("WASEAT_CLOSE_SWEEP_SECONDS", default=60.0)

PORT = env.int("PORT", default=8000)

# Restaurant dashboard urgency: a card turns amber, then red, at these ages; younger cards are marked new.
DASHBOARD_AGE_WARNING_MINUTES = env.float("DASHBOARD_AGE_WARNING_MINUTES", default=10.0)
DASHBOARD_AGE_LATE_MINUTES = env.float("DASHBOARD_AGE_LATE_MINUTES", default=20.0)
DASHBOARD_NEW_ORDER_SECONDS = env.float("DASHBOARD_NEW_ORDER_SECONDS", default=90.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
        # The in-process beat would log every poll.
        "celery.app.trace": {"level": "WARNING"},
        # The HTTP helper logs each retry with its error; stamina's own line carries it only in `extra`.
        "stamina": {"level": "ERROR"},
    },
}

# Production (DEBUG off): cookies only over HTTPS, HSTS, and `manage.py check --deploy` clean.
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (never set this without one).
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The http->https redirect is the TLS proxy's job: health checks, the benchmark and the local compose stack
# speak plain http to the app, and HSTS already keeps browsers on https. Set SECURE_SSL_REDIRECT=true to
# have Django redirect too.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_SSL_REDIRECT else ["security.W008"]

# Content-Security-Policy (django-csp): the dashboard loads only its own script, style and websocket.
# GraphiQL (DEBUG only) loads its page from a CDN, so /graphql/ is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/graphql/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# Periodic tasks: run by Celery beat in production and in-process by `devserver`.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_BEAT_SCHEDULE["aggregator-orders-fetch"] = {
    "task": "aggregators.tasks.aggregator_orders_fetch_task",
    "schedule": AGGREGATOR_POLL_SECONDS,
}
CELERY_BEAT_SCHEDULE["consumer-records-prune"] = {
    "task": "consumers.tasks.consumer_records_prune_task",
    "schedule": RETENTION_PRUNE_SECONDS,
}
CELERY_BEAT_SCHEDULE["waseat-close-pending-sweep"] = {
    "task": "delivery.tasks.waseat_close_pending_sweep_task",
    "schedule": WASEAT_CLOSE_SWEEP_SECONDS,
}
# Task modules outside an app's `tasks.py`: Celery imports them when it loads its default modules.
CELERY_IMPORTS = ["aggregators.tasks"]

# What `manage.py devserver` runs beside the web server, in start order.
DEVSERVER_SERVICES = [
    "events.broker.embedded_broker_services",
    "events.relay.relay_services",
    "consumers.runtime.consumer_services",
    "config.background.celery_beat_services",
]
