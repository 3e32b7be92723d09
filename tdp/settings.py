"""Django settings for TDP, read from environment variables with safe local defaults.

Every variable is documented in README.md ("Configuration"). Production refuses to start with
DEBUG off and no SECRET_KEY; `manage.py check --deploy` reports the remaining unsafe values.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tdp.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
TDP_SITE_URL = env_str("TDP_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [TDP_SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "django_rq",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tdp.apps.TdpConfig",
    "intel",
    "detection",
    "cases",
    "automation",
    "metrics",
    "tuning",
]

MIDDLEWARE = [
    "tdp.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tdp.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tdp.urls"
WSGI_APPLICATION = "tdp.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tdp.roles.roles_context",
            ],
        },
    },
]

# --- Database and Redis -----------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tdp"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# JIT compilation costs tens of milliseconds per query and pays off only for long analytics
# queries; list pages and ingestion are better off without it.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# --- Background jobs (RQ) ---------------------------------------------------------------------
_RQ_CONNECTION = {
    "URL": REDIS_URL,
    "DEFAULT_TIMEOUT": 600,
    "REDIS_CLIENT_KWARGS": {"socket_connect_timeout": 2, "socket_timeout": 5},
}
RQ_QUEUES = {name: dict(_RQ_CONNECTION) for name in ("high", "default", "low", "scan")}
RQ_SHOW_ADMIN_LINK = False

# --- Authentication and roles -----------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security headers -------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe health over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TDP_BEHIND_TLS_PROXY", False) else None
)
# No inline script or style anywhere: htmx is configured through a <meta> tag.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
# The django-rq dashboard (/jobs/, admins only) ships inline <style> and <script> in its own
# templates; it shows our own job data, not content from outside, so only it may run them.
CONTENT_SECURITY_POLICY_RQ_DASHBOARD = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

# --- Outbound HTTP ----------------------------------------------------------------------------
# Explicit opt-in for feed/webhook servers on private networks (tdp/http/policy.py enforces it).
TDP_ALLOW_PRIVATE_URLS = env_bool("TDP_ALLOW_PRIVATE_URLS", False)

# --- Internationalisation, static files -------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# WhiteNoise serves static files from gunicorn (no separate web server needed); files are
# collected by `make up`, and found in place while DEBUG is on.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
TDP_MAX_UPLOAD_BYTES = env_int("TDP_MAX_UPLOAD_BYTES", 256 * 1024 * 1024)

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tdp.roles.IsAnalyst"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "tdp.api.json_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TDP API",
    "DESCRIPTION": "Threat Discovery & Prevention workbench: intel, detection, triage.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["tdp.roles.IsAnalyst"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Several models have a `status`; each choice set gets its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "IndicatorStatusEnum": "intel.models.Status",
        "ScanBatchStatusEnum": "detection.models.ScanBatch.Status",
    },
}

# --- Logging: one JSON line per event on stdout, with the request id ----------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tdp.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "tdp.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "rq.worker": {"level": LOG_LEVEL},
    },
}

# --- Uploaded files (never served directly) ----------------------------------------------------
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
# Uploads up to this size are imported within the request; larger ones on an RQ worker.
TDP_INLINE_IMPORT_BYTES = env_int("TDP_INLINE_IMPORT_BYTES", 2 * 1024 * 1024)

# --- Intel ------------------------------------------------------------------------------------
# Re-reports of an unchanged indicator within this window do not rewrite its row: "last seen"
# is kept to this resolution, which makes re-pulling an unchanged feed cheap.
TDP_SEEN_RESOLUTION = timedelta(minutes=env_int("TDP_SEEN_RESOLUTION_MINUTES", 15))

# --- Feeds ------------------------------------------------------------------------------------
TDP_FEED_TIMEOUT = env_int("TDP_FEED_TIMEOUT", 600)  # seconds, the whole download
TDP_FEED_MAX_BYTES = env_int("TDP_FEED_MAX_BYTES", 1024**3)  # 1 GiB per pull, after gzip
TDP_FEED_JOB_TIMEOUT = env_int("TDP_FEED_JOB_TIMEOUT", 3600)  # a pull running longer has died
# Pauses between attempts when a feed server is unreachable or answers 5xx.
TDP_FEED_RETRY_DELAYS = [
    int(x) for x in env_list("TDP_FEED_RETRY_DELAYS", ["5", "30"]) if x.strip().isdigit()
]

# --- Detection --------------------------------------------------------------------------------
# Content events are kept this many days (one partition per day) for evidence and back-testing.
TDP_EVENT_RETENTION_DAYS = env_int("TDP_EVENT_RETENTION_DAYS", 14)
# How often a process checks whether active intel changed and its matcher must be rebuilt.
TDP_MATCHER_REFRESH_SECONDS = env_int("TDP_MATCHER_REFRESH_SECONDS", 30)

# --- Automation -------------------------------------------------------------------------------
# Enrich the indicators of every case opened and every indicator added (in the automation drain).
TDP_ENRICH_ON_TRIGGER = env_bool("TDP_ENRICH_ON_TRIGGER", True)
# Reverse DNS lookups of IP indicators (off: they leak what we look at to DNS resolvers).
TDP_ENRICH_REVERSE_DNS = env_bool("TDP_ENRICH_REVERSE_DNS", False)
TDP_ENRICH_DNS_TIMEOUT = env_int("TDP_ENRICH_DNS_TIMEOUT", 2)  # seconds per reverse lookup
TDP_WEBHOOK_TIMEOUT = env_int("TDP_WEBHOOK_TIMEOUT", 10)  # seconds per attempt
TDP_WEBHOOK_BACKOFF = float(env_str("TDP_WEBHOOK_BACKOFF", "1"))  # first retry pause, doubling
# Outbound playbook steps (webhooks, takedowns, chat) of one drained batch sent at once, per worker.
TDP_AUTOMATION_HTTP_CONCURRENCY = env_int("TDP_AUTOMATION_HTTP_CONCURRENCY", 16)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "tdp@localhost")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# --- Tuning -----------------------------------------------------------------------------------
# An indicator, rule or feed gets a suggestion once at least TDP_TUNING_MIN_LABELS of its hits
# are labelled true or false positive and at least this share of those are false positives.
TDP_TUNING_FP_RATE = float(env_str("TDP_TUNING_FP_RATE", "0.5"))
TDP_TUNING_MIN_LABELS = env_int("TDP_TUNING_MIN_LABELS", 10)
# Back-tests: processes replaying events (0: one per CPU core); page runs over at most this
# many stored events and active indicators finish within the request, larger ones run on the
# default RQ queue.
TDP_BACKTEST_WORKERS = env_int("TDP_BACKTEST_WORKERS", 0)
TDP_BACKTEST_INLINE_EVENTS = env_int("TDP_BACKTEST_INLINE_EVENTS", 50_000)
TDP_BACKTEST_INLINE_INDICATORS = env_int("TDP_BACKTEST_INLINE_INDICATORS", 100_000)
TDP_BACKTEST_JOB_TIMEOUT = env_int("TDP_BACKTEST_JOB_TIMEOUT", 1800)  # seconds

# --- Metrics ----------------------------------------------------------------------------------
# The rollup refresh (cron, every 5 minutes) recounts this many recent days and adds what changed
# on older ones; a full rebuild runs when the last one is older than the hours below (0: only
# `manage.py refresh_metrics --full`). Intel counts read every indicator: at most this often.
TDP_METRICS_REFRESH_DAYS = env_int("TDP_METRICS_REFRESH_DAYS", 1)
TDP_METRICS_FULL_REFRESH_HOURS = env_int("TDP_METRICS_FULL_REFRESH_HOURS", 24)
TDP_METRICS_INTEL_REFRESH_MINUTES = env_int("TDP_METRICS_INTEL_REFRESH_MINUTES", 60)
# The weekly report (last Monday-to-Monday UTC week) is made on Mondays from this UTC hour and
# emailed to these addresses (comma-separated; empty: stored and downloadable only).
TDP_WEEKLY_REPORT_HOUR = env_int("TDP_WEEKLY_REPORT_HOUR", 7)
TDP_WEEKLY_REPORT_TO = env_list("TDP_WEEKLY_REPORT_TO", [])
