"""Settings, all from the environment (dashboard_project/env.py).

With no variable set the project runs on embedded parts: SQLite, the
in-process channel layer, the local-memory cache and the embedded MongoDB
store. REDIS_URL (or REDIS_SENTINELS), MONGODB_URI and DATABASE_URL swap in the real
engines.
"""

import os
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from runtime import proxies, redis_settings

from .env import env_bool, env_float, env_int, env_list, env_str, level_groups, writable_directory
from .time_zone import hospital_time_zone

BASE_DIR = Path(__file__).resolve().parent.parent
# Files the embedded parts keep (SQLite, the embedded store, collected static files): under the
# working directory, never inside the installed package. Absolute, so that worker and simulator
# processes started from elsewhere find the same files.
VAR_DIR = Path(env_str("DASHBOARD_VAR_DIR", "var")).absolute()

# --- Core ---------------------------------------------------------------------------------------
DEMO_SECRET_KEY = "demo-only-secret-key-do-not-use-in-production-0123456789"
DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEMO_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEMO_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG is off but DJANGO_SECRET_KEY is the demo key: set DJANGO_SECRET_KEY "
        "to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
# Production (DEBUG off) runs on the hospital's MongoDB and Redis: `serve` and `watch_changes`
# refuse to start on the embedded store or the in-process layer and cache unless asked for here
# (runtime/engines.py).
DASHBOARD_EMBEDDED = env_bool("DASHBOARD_EMBEDDED", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# The hospital's day: TIME_ZONE, else the machine's own zone (or the hour DASHBOARD_DEMO_AT asks
# the demo to show), so "today" is the user's today (dashboard_project/time_zone.py).
TIME_ZONE = hospital_time_zone(env_str("TIME_ZONE"), env_str("DASHBOARD_DEMO_AT"))
if env_str("DASHBOARD_DEMO_AT") and not env_str("TIME_ZONE"):
    # Processes this one starts (workers, listener, simulator) keep the zone chosen here, even
    # when the hour turns while they start.
    os.environ["TIME_ZONE"] = TIME_ZONE
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- HTTPS (DASHBOARD_HTTPS, on by default in production) ------------------------------------------
# In production TLS ends at the proxy in front (deploy/nginx.conf), which tells the server with
# X-Forwarded-Proto. Plain HTTP is redirected to HTTPS, except the health checks and /metrics
# (load balancers and Prometheus reach each instance directly), and browsers are told to stay on
# HTTPS (HSTS). `manage.py check --deploy` is clean with it on.
DASHBOARD_HTTPS = env_bool("DASHBOARD_HTTPS", not DEBUG)
if DASHBOARD_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("DASHBOARD_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DASHBOARD_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DASHBOARD_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"  # no page of the dashboard is meant to be framed

INSTALLED_APPS = [
    "daphne",
    "django_prometheus",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "channels",
    "audit",
    "accounts",
    "metrics",
    "live",
    "simulator",
    "dashboard_page",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "dashboard_project.urls"
ASGI_APPLICATION = "dashboard_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Django's own database (users, levels, departments, checkpoints, acknowledgements) ----------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'dashboard.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes write here at once (the listener's checkpoint, management commands,
    # admin saves, logins). WAL lets readers go on while one writes. IMMEDIATE makes every
    # transaction take the write lock when it begins, so a writer waits up to `timeout`
    # seconds for its turn; a deferred transaction that read first and then writes fails
    # at once with "database is locked" whenever another connection wrote in between.
    # A `?timeout=S` in DATABASE_URL replaces the 20 s default.
    sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    sqlite_options.setdefault("timeout", 20)
    sqlite_options.update(
        {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Static files (the bundled dashboard page) -------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("DASHBOARD_STATIC_ROOT", str(VAR_DIR / "staticfiles"))).absolute()
# The page's files are served from the installed package (the finders) until `collectstatic`
# fills STATIC_ROOT (the image does at build), so a missing STATIC_ROOT is no news.
WHITENOISE_USE_FINDERS = True
# The JavaScript client (clients/js/, shipped in the wheel beside the packages): the page runs on
# it, and a browser dashboard elsewhere can import it from /static/client/dashboard-client.js.
STATICFILES_DIRS = [("client", BASE_DIR / "clients" / "js")]
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
WHITENOISE_AUTOREFRESH = DEBUG

# --- Redis: channel layer, cache (L2), listener lease, instance registry --------------------------
# One Redis server (REDIS_URL), or a primary watched by Redis Sentinel (REDIS_SENTINELS with
# REDIS_SENTINEL_MASTER), which every Redis client follows through a failover
# (runtime/redis_settings.py, docs/configuration.md).
REDIS_URL = env_str("REDIS_URL")
REDIS_SENTINELS = env_list("REDIS_SENTINELS", [])
REDIS_SENTINEL_MASTER = env_str("REDIS_SENTINEL_MASTER")
REDIS_PASSWORD = env_str("REDIS_PASSWORD")  # the primary's and replicas' (with Sentinel)
REDIS_SENTINEL_PASSWORD = env_str("REDIS_SENTINEL_PASSWORD")  # the sentinels' own, if any
REDIS_DB = env_int("REDIS_DB", 0, minimum=0)  # with Sentinel (REDIS_URL names its own)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 1.0)
# Keys and channels of one deployment; two deployments may share a Redis with different prefixes.
DASHBOARD_CHANNEL_PREFIX = env_str("DASHBOARD_CHANNEL_PREFIX", "dashboard")
_sentinels = redis_settings.parse_sentinels(REDIS_SENTINELS)
redis_settings.check_choice(REDIS_URL, _sentinels, REDIS_SENTINEL_MASTER)
REDIS_ENABLED = bool(REDIS_URL or _sentinels)
if REDIS_ENABLED:
    _redis: dict[str, Any] = {
        "master": REDIS_SENTINEL_MASTER,
        "password": REDIS_PASSWORD,
        "db": REDIS_DB,
        "timeout": REDIS_SOCKET_TIMEOUT,
        "prefix": DASHBOARD_CHANNEL_PREFIX,
    }
    CHANNEL_LAYERS = redis_settings.channel_layers(
        REDIS_URL, _sentinels, sentinel_password=REDIS_SENTINEL_PASSWORD, **_redis
    )
    CACHES = redis_settings.caches(REDIS_URL, _sentinels, **_redis)
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "dashboard-l2",
        }
    }

# --- Hospital data (MongoDB or the embedded store) ---------------------------------------------
MONGODB_URI = env_str("MONGODB_URI")
MONGODB_DB = env_str("MONGODB_DB", "hospital")
MONGODB_TIMEOUT_MS = env_int("MONGODB_TIMEOUT_MS", 2000, minimum=100)
# The embedded store keeps its data in this SQLite file so that the server,
# the listener and the simulator (separate processes) share one hospital.
EMBEDDED_STORE_PATH = env_str("EMBEDDED_STORE_PATH", str(VAR_DIR / "hospital-store.sqlite3"))
EMBEDDED_STORE_HISTORY = env_int("EMBEDDED_STORE_HISTORY", 100_000, minimum=10)
HOSPITAL_CURRENCY = env_str("HOSPITAL_CURRENCY", "USD")
# The metrics served: one module each (metrics/definition.py), critical ones first in every
# list. A hospital adds its own in a package of its own with DASHBOARD_EXTRA_METRICS.
DASHBOARD_METRICS = [
    "metrics.compute.patients",
    "metrics.compute.alerts",
    "metrics.compute.rooms",
    "metrics.compute.appointments",
    "metrics.compute.revenue",
    "metrics.compute.staff",
    "metrics.compute.discharges",
    "metrics.compute.er_waiting",
    "metrics.compute.historical",
] + env_list("DASHBOARD_EXTRA_METRICS", [])
if not env_str("DATABASE_URL") or not MONGODB_URI:
    writable_directory("DASHBOARD_VAR_DIR", VAR_DIR)

# --- The dashboard itself ------------------------------------------------------------------------
DASHBOARD_MAX_CONNECTIONS = env_int("DASHBOARD_MAX_CONNECTIONS", 1000, minimum=1)
# Slots that sockets not signed in yet may hold (0 or unset: a tenth of the connections).
DASHBOARD_MAX_UNAUTHENTICATED = env_int("DASHBOARD_MAX_UNAUTHENTICATED", 0, minimum=0) or None
# A socket that has not signed in after this long may give its slot to a newcomer (1013).
DASHBOARD_EVICT_AFTER_SECONDS = env_float("DASHBOARD_EVICT_AFTER_SECONDS", 2.0)
# Fair shares (over one: close 4029): signed-in sockets per user and per client address, and
# sockets waiting to sign in per address.
DASHBOARD_MAX_SOCKETS_PER_USER = env_int("DASHBOARD_MAX_SOCKETS_PER_USER", 10, minimum=1)
DASHBOARD_MAX_SOCKETS_PER_ADDRESS = env_int("DASHBOARD_MAX_SOCKETS_PER_ADDRESS", 200, minimum=1)
DASHBOARD_MAX_WAITING_PER_ADDRESS = env_int("DASHBOARD_MAX_WAITING_PER_ADDRESS", 20, minimum=1)
# The collections the listener follows (empty: those the live metrics read).
DASHBOARD_WATCHED_COLLECTIONS = env_list("DASHBOARD_WATCHED_COLLECTIONS", [])
DASHBOARD_BATCH_SIZE = env_int("DASHBOARD_BATCH_SIZE", 100, minimum=1)
DASHBOARD_BATCH_INTERVAL = env_float("DASHBOARD_BATCH_INTERVAL", 1.0)
# Seconds between the listener's verification recounts of its incrementally kept metrics (0: off).
DASHBOARD_VERIFY_INTERVAL = env_float("DASHBOARD_VERIFY_INTERVAL", 300.0)
DASHBOARD_MEMORY_LIMIT_MB = env_int("DASHBOARD_MEMORY_LIMIT_MB", 1024, minimum=16)
DASHBOARD_INSTANCE_ID = env_str("DASHBOARD_INSTANCE_ID")
# Where `serve` listens unless --host and --port say otherwise.
DASHBOARD_HOST = env_str("DASHBOARD_HOST", "127.0.0.1")
DASHBOARD_PORT = env_int("DASHBOARD_PORT", 8000, minimum=1)
# The ASGI server `manage.py serve` runs: uvicorn (default) or daphne.
DASHBOARD_SERVER = env_str("DASHBOARD_SERVER", "uvicorn")
# Worker processes of one instance (`serve --workers`); 0: one per core with REDIS_URL, else 1.
DASHBOARD_WORKERS = env_int("DASHBOARD_WORKERS", 0, minimum=0)
# A worker whose event loop is silent this long is killed and replaced (its heartbeat is
# every second); /health/live/ fails as soon as one is silent for 3 s.
DASHBOARD_WORKER_TIMEOUT = env_float("DASHBOARD_WORKER_TIMEOUT", 10.0)
if DASHBOARD_SERVER not in ("daphne", "uvicorn"):
    raise ImproperlyConfigured(
        f"DASHBOARD_SERVER must be daphne or uvicorn, not {DASHBOARD_SERVER!r}"
    )
# Run the change-stream listener inside the serving process (`manage.py serve`).
# Needed with the in-process channel layer; with Redis the lease keeps one active.
DASHBOARD_LISTENER_IN_PROCESS = env_bool("DASHBOARD_LISTENER_IN_PROCESS", not REDIS_ENABLED)
# No listener heartbeat for this long: `/health/` fails its `listener` check and sockets get
# connection_status `degraded` with `listener_down` (live/liveness.py).
DASHBOARD_LISTENER_STALE_SECONDS = env_float("DASHBOARD_LISTENER_STALE_SECONDS", 15.0)

# --- API and JWT ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's tokens, and the identity provider's with single sign-on (accounts/oidc.py).
        "accounts.authentication.DashboardAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "runtime.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env_str("DASHBOARD_LOGIN_RATE_IP", "20/min"),
        "login_user": env_str("DASHBOARD_LOGIN_RATE_USER", "10/min"),
        # Historical ranges computed (not served from the cache) per user, REST and WebSocket.
        "historical": env_str("DASHBOARD_HISTORICAL_RATE", "20/min"),
        # Pairing codes asked for from one client address (docs/sign-in.md).
        "display_pairing": env_str("DASHBOARD_DISPLAY_PAIRING_RATE", "10/min"),
    },
    "UNAUTHENTICATED_USER": None,
    # The client address is REMOTE_ADDR, which the server already took from X-Forwarded-For when
    # the peer is a trusted proxy (DASHBOARD_TRUSTED_PROXIES): DRF never reads the header itself.
    "NUM_PROXIES": 0,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("DASHBOARD_ACCESS_TOKEN_MINUTES", 5, 1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env_int("DASHBOARD_REFRESH_TOKEN_HOURS", 12, 1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("DASHBOARD_JWT_SIGNING_KEY", SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_OBTAIN_SERIALIZER": "accounts.tokens.DashboardTokenObtainSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.tokens.DashboardTokenRefreshSerializer",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Hospital live dashboard API",
    "DESCRIPTION": "REST side of the live hospital operations dashboard. "
    "The live side is the WebSocket at /ws/dashboard/ (see README).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Edges: proxies, hosts, client errors ------------------------------------------------------------
# Reverse proxies whose X-Forwarded-For (and -Proto, -Port) the server believes: IP addresses or
# networks (CIDR), comma-separated. Empty: the headers are ignored and the client address is the
# connecting one. The server takes the nearest address in X-Forwarded-For that is not itself a
# trusted proxy (runtime/proxies.py), so a client cannot pick its own address.
DASHBOARD_TRUSTED_PROXIES = proxies.parse_networks(
    "DASHBOARD_TRUSTED_PROXIES", env_list("DASHBOARD_TRUSTED_PROXIES", [])
)
proxies.refuse_proxy_count(env_int("DASHBOARD_NUM_PROXIES", 0, minimum=0))
# Lines a process logs about clients' mistakes (a bad Host, invalid UTF-8) per minute; past it,
# one line says how many were left out (live/sockets/clienterrors.py).
DASHBOARD_CLIENT_ERROR_LOG_PER_MINUTE = env_int(
    "DASHBOARD_CLIENT_ERROR_LOG_PER_MINUTE", 20, minimum=1
)

# --- The audit trail (docs/audit.md) ------------------------------------------------------------
# Off: nothing is recorded (the load benchmark compares both).
DASHBOARD_AUDIT_ENABLED = env_bool("DASHBOARD_AUDIT_ENABLED", True)
# Entries older than this are removed by `manage.py purge_audit` (six years: HIPAA's retention
# of documentation, 45 CFR 164.316(b)(2)).
DASHBOARD_AUDIT_RETENTION_DAYS = env_int("DASHBOARD_AUDIT_RETENTION_DAYS", 2190, minimum=1)
# The queue between requests and the writer's thread; past it, entries are dropped and counted.
DASHBOARD_AUDIT_QUEUE_SIZE = env_int("DASHBOARD_AUDIT_QUEUE_SIZE", 10_000, minimum=1)
DASHBOARD_AUDIT_BATCH_SIZE = env_int("DASHBOARD_AUDIT_BATCH_SIZE", 500, minimum=1)
# An entry waits at most this long in the queue before its batch is written.
DASHBOARD_AUDIT_FLUSH_SECONDS = env_float("DASHBOARD_AUDIT_FLUSH_SECONDS", 1.0)
# Open read tallies (one per session and metric) are written this often, and when a socket closes.
DASHBOARD_AUDIT_READ_FLUSH_SECONDS = env_float("DASHBOARD_AUDIT_READ_FLUSH_SECONDS", 300.0)
# After a dropped entry, /health/ says `degraded` for this long.
DASHBOARD_AUDIT_DEGRADED_SECONDS = env_float("DASHBOARD_AUDIT_DEGRADED_SECONDS", 900.0)
# Every entry written is also one JSON line on logger `dashboard.audit` (standard error).
DASHBOARD_AUDIT_LOG = env_bool("DASHBOARD_AUDIT_LOG", True)

# --- Logging ---------------------------------------------------------------------------------------
LOG_LEVEL = env_str("DASHBOARD_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json_line": {"format": "%(message)s"},
    },
    "filters": {"outages": {"()": "runtime.logfilters.OutageWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["outages"]},
        # The audit trail: one JSON object a line, nothing around it (docs/audit.md).
        "audit": {"class": "logging.StreamHandler", "formatter": "json_line"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "dashboard": {"level": LOG_LEVEL, "propagate": True},
        "django.request": {"level": "ERROR", "propagate": True},
        "dashboard.audit": {
            "level": "INFO" if DASHBOARD_AUDIT_LOG else "WARNING",
            "handlers": ["audit"],
            "propagate": False,
        },
        # The writer's own warnings (a full queue, a failed batch) are ordinary log lines.
        "dashboard.audit.writer": {"handlers": ["console"], "propagate": False},
    },
}

# connection_status is repeated this often on every socket (an application-level heartbeat),
# and the server sends a WebSocket ping this often (a client that stops answering is dropped).
DASHBOARD_HEARTBEAT_SECONDS = env_float("DASHBOARD_HEARTBEAT_SECONDS", 30.0)
DASHBOARD_WS_PING_SECONDS = env_float("DASHBOARD_WS_PING_SECONDS", 20.0)
# A socket that has not read its updates for this long is closed (4008); see live/sockets/outbox.py.
DASHBOARD_SLOW_SOCKET_SECONDS = env_float("DASHBOARD_SLOW_SOCKET_SECONDS", 30.0)
# How often open WebSocket connections re-read their user's level, departments and active flag.
DASHBOARD_REVALIDATE_SECONDS = env_float("DASHBOARD_REVALIDATE_SECONDS", 30.0)
# A personal browser session signs out after this long without interaction (fractions allowed;
# 0: never). Displays never do (docs/sign-in.md).
DASHBOARD_IDLE_SIGNOUT_MINUTES = max(0.0, env_float("DASHBOARD_IDLE_SIGNOUT_MINUTES", 15.0))
# Display devices (docs/sign-in.md): how long a pairing code waits for an admin, how long a
# display's access token lives (it renews it by itself), and how long its credential may go
# unused before it lapses (each renewal starts this again).
DASHBOARD_DISPLAY_PAIRING_SECONDS = env_int("DASHBOARD_DISPLAY_PAIRING_SECONDS", 600, 30)
DASHBOARD_DISPLAY_TOKEN_MINUTES = env_float("DASHBOARD_DISPLAY_TOKEN_MINUTES", 60.0)
DASHBOARD_DISPLAY_IDLE_DAYS = env_float("DASHBOARD_DISPLAY_IDLE_DAYS", 30.0)
# Single sign-on through the hospital's OpenID Connect provider (docs/sign-in.md); unset: off.
DASHBOARD_OIDC_ISSUER = env_str("DASHBOARD_OIDC_ISSUER")
DASHBOARD_OIDC_CLIENT_ID = env_str("DASHBOARD_OIDC_CLIENT_ID")
# The `aud` the provider's access tokens carry for the dashboard (default: the client id).
DASHBOARD_OIDC_AUDIENCE = env_str("DASHBOARD_OIDC_AUDIENCE")
DASHBOARD_OIDC_SCOPES = env_str("DASHBOARD_OIDC_SCOPES", "openid profile email")
DASHBOARD_OIDC_PROVIDER_NAME = env_str("DASHBOARD_OIDC_PROVIDER_NAME", "hospital sign-in")
DASHBOARD_OIDC_ALGORITHMS = env_list("DASHBOARD_OIDC_ALGORITHMS", ["RS256", "ES256"])
DASHBOARD_OIDC_USERNAME_CLAIM = env_str("DASHBOARD_OIDC_USERNAME_CLAIM", "preferred_username")
DASHBOARD_OIDC_GROUPS_CLAIM = env_str("DASHBOARD_OIDC_GROUPS_CLAIM", "groups")
DASHBOARD_OIDC_DEPARTMENTS_CLAIM = env_str("DASHBOARD_OIDC_DEPARTMENTS_CLAIM", "departments")
# level=group pairs: a member of the group gets the level (the strongest wins).
DASHBOARD_OIDC_LEVEL_GROUPS = level_groups(
    "DASHBOARD_OIDC_LEVEL_GROUPS",
    env_list(
        "DASHBOARD_OIDC_LEVEL_GROUPS",
        [
            "super_admin=dashboard-super-admins",
            "admin=dashboard-admins",
            "viewer=dashboard-viewers",
        ],
    ),
)
DASHBOARD_OIDC_JWKS_CACHE_SECONDS = env_float("DASHBOARD_OIDC_JWKS_CACHE_SECONDS", 300.0)
DASHBOARD_OIDC_JWKS_COOLDOWN_SECONDS = env_float("DASHBOARD_OIDC_JWKS_COOLDOWN_SECONDS", 30.0)
DASHBOARD_OIDC_TIMEOUT = env_float("DASHBOARD_OIDC_TIMEOUT", 5.0)
# Local accounts (username and password) beside single sign-on; off: provider users only.
DASHBOARD_LOCAL_ACCOUNTS = env_bool("DASHBOARD_LOCAL_ACCOUNTS", True)
if DASHBOARD_OIDC_ALGORITHMS and not set(DASHBOARD_OIDC_ALGORITHMS) <= {
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES384",
    "PS256",
}:
    raise ImproperlyConfigured(
        "DASHBOARD_OIDC_ALGORITHMS accepts RS256, RS384, RS512, PS256, ES256, ES384 only"
    )
# The address other parts (a load balancer, the instance registry) reach this instance at.
DASHBOARD_PUBLIC_ADDRESS = env_str("DASHBOARD_PUBLIC_ADDRESS")
# `watch_changes` serves its own Prometheus metrics on this port (0: off).
DASHBOARD_LISTENER_METRICS_PORT = env_int("DASHBOARD_LISTENER_METRICS_PORT", 9108, minimum=0)
DASHBOARD_LISTENER_METRICS_ADDRESS = env_str("DASHBOARD_LISTENER_METRICS_ADDRESS", "127.0.0.1")
