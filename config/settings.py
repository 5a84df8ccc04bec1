"""Settings: every value comes from the environment, with a default that works for
`make run` on a laptop (SQLite in WAL mode, a SQLite-backed Celery broker). Production
sets DJANGO_SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and DJANGO_DEBUG=false.
"""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Project-local runtime state (SQLite, broker folders, demo secrets).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The test run's own process (pytest-django reads settings before any conftest); the
# processes a test starts get DJANGO_SECRET_KEY and DJANGO_SECURE from tests/conftest.py.
TESTING = "pytest" in sys.modules
_DEV_SECRET_KEY = "django-insecure-local-dev-only-change-me"
# The key: DJANGO_SECRET_KEY, else the one `make run` wrote to var/secret_key. With
# DEBUG off and neither, the app refuses to start rather than sign sessions with a
# key everyone can read here.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY and (VAR_DIR / "secret_key").is_file():
    SECRET_KEY = (VAR_DIR / "secret_key").read_text().strip()
if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 32:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is missing or too short (32+ characters). Set it, or DJANGO_DEBUG=true for a dev key."
        )
    SECRET_KEY = SECRET_KEY or _DEV_SECRET_KEY
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "auditlog",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "csp",
    "merchants",
    "channels",
    "settlement",
]

MIDDLEWARE = [
    "config.request_id.RequestIdMiddleware",  # first: every later log line has the id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.sessions.IdleSessionMiddleware",  # idle expiry, see config/sessions.py
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.audit.AuditlogMiddleware",  # the logged-in user is the audit rows' actor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns lockouts into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database -------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue instead of failing with "database is locked" mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("OPTIONS", {})
    # A crashed worker must not hold row locks: PostgreSQL ends idle transactions.
    DATABASES["default"]["OPTIONS"].setdefault(
        "options", "-c idle_in_transaction_session_timeout=60000"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Auth -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "config.login_security.DelayedAxesBackend",
    "django.contrib.auth.backends.ModelBackend",
    "merchants.phone_login.PhoneCodeBackend",  # phone + one-time code, after axes like the password
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"  # a shared shop tablet shows the next person the login, not a page

# PCI DSS 8.2.8: sessions end after 15 idle minutes.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_REFRESH_SECONDS = env.int("SESSION_REFRESH_SECONDS", default=60)
SESSION_COOKIE_HTTPONLY = True

# django-axes: 10 failures of one username from one address lock that pair out for
# 30 minutes. By the pair, never by username or address alone: many Chinese mobile
# users share one address, and a stranger's typos must not lock the real user out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = 0.5  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_LOCKOUT_CALLABLE = "config.login_security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.login_security.client_ip"
# Reverse proxies in front of the app that append to X-Forwarded-For (0: none, the
# address is REMOTE_ADDR; compose's production shape sits behind one).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Across all addresses, a username's failures beyond LOGIN_USERNAME_DELAY_AFTER delay
# each further check by STEP seconds more, capped at MAX: slower guessing, no lockout.
LOGIN_USERNAME_DELAY_AFTER = env.int("LOGIN_USERNAME_DELAY_AFTER", default=5)
LOGIN_USERNAME_DELAY_STEP_SECONDS = env.float("LOGIN_USERNAME_DELAY_STEP_SECONDS", default=0.5)
LOGIN_USERNAME_DELAY_MAX_SECONDS = env.float("LOGIN_USERNAME_DELAY_MAX_SECONDS", default=3.0)

# --- Production hardening: on unless DEBUG (or DJANGO_SECURE=false, as `make run` over
# plain http sets). Behind the TLS proxy, which sets X-Forwarded-Proto. ------------------
SECURE = env.bool("DJANGO_SECURE", default=not (DEBUG or TESTING))
if SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe health over plain http
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy (django-csp): our own static files only; no inline script,
# style or handler anywhere (templates load static/js/*.js), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- I18n / time ----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"  # display default; storage is UTC (USE_TZ)
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from app folders when not collected

# --- Email ----------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="settlements@example.com")
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
# Well under NOTIFICATION_EMAIL_LEASE_SECONDS: a hung SMTP server must not outlast a claim.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "merchants.tokens.AuditedTokenAuthentication",  # knox: hashed, expiring; refusals audited, throttled
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    # Per client address (anonymous) and per user; the signed acquirer API opts out
    # (channels.api.views.AcquirerView), its limits are batch and body sizes.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
    # The anonymous throttle's client address, like the login lockout's (never the raw header).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
# Merchant API tokens (django-rest-knox): SHA-512 digests at rest, shown once, expiring.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=30)
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=5)
API_TOKEN_CREATES_PER_HOUR = env.int("API_TOKEN_CREATES_PER_HOUR", default=10)
# Refused token requests (merchants.tokens.AuditedTokenAuthentication): per (address, token
# key) and per address (unknown keys only) within the window, then 429.
API_TOKEN_FAILURE_WINDOW_SECONDS = env.int("API_TOKEN_FAILURE_WINDOW_SECONDS", default=900)
API_TOKEN_FAILURES_PER_PAIR = env.int("API_TOKEN_FAILURES_PER_PAIR", default=10)
API_TOKEN_FAILURES_PER_ADDRESS = env.int("API_TOKEN_FAILURES_PER_ADDRESS", default=50)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",  # the header clients already send
    "TOKEN_PREFIX": "stk_",  # recognisable by secret scanners
}
# --- Audit trail (config/audit.py) ---------------------------------------------------
AUDITLOG_STORE_JSON_CHANGES = True  # changes as {"field": [old, new]} with real types
AUDITLOG_MASK_CALLABLE = "config.audit.mask_secret"
AUDITLOG_DISABLE_REMOTE_ADDR = False
_CHANNEL_RUNTIME = ["health", "health_changed_at", "consecutive_poll_failures", "last_poll_at", "last_poll_ok_at",
                    "last_poll_error", "poll_apply_error", "poll_apply_error_at"]  # the poller's, not people's
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {"model": "channels.channel", "exclude_fields": _CHANNEL_RUNTIME, "mask_fields": ["poll_secret"]},
    {"model": "channels.channelsecret", "mask_fields": ["secret"]},
    "channels.calendaryear",
    "merchants.membership",
    {"model": "settlement.payout", "exclude_fields": ["updated_at"]},
    {"model": "knox.authtoken", "exclude_fields": ["digest", "token_key"]},
)
SPECTACULAR_SETTINGS = {
    "TITLE": "Settlement tracking API",
    "DESCRIPTION": "Acquirer ingest (signed, Standard Webhooks) and merchant/staff reads.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Acquirer API limits (DESIGN.md): 1,000 items, 1 MiB bodies.
API_MAX_BATCH_ITEMS = 1000
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
WEBHOOK_TOLERANCE_SECONDS = 300
# Accepted webhook-ids (channels.replay) are kept 2 x tolerance + this margin, purged by beat.
WEBHOOK_REPLAY_MARGIN_SECONDS = env.int("WEBHOOK_REPLAY_MARGIN_SECONDS", default=300)

# --- Celery (RELIABILITY.md) ----------------------------------------------------
# The embedded default is kombu's SQLAlchemy transport on a SQLite file next to the
# app's database: transactional (a message is a committed row, never a half-written
# file as with the filesystem transport, kombu #1551) and needs no server.
EMBEDDED_BROKER_PATH = VAR_DIR / "broker.sqlite3"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{EMBEDDED_BROKER_PATH}")
_VISIBILITY_TIMEOUT = 3600
if CELERY_BROKER_URL.startswith(("sqla+", "sqlalchemy+")):
    from config.broker import sqlite_broker_prepare

    # Transport options of this transport go to sqlalchemy.create_engine: none needed.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
    sqlite_broker_prepare(CELERY_BROKER_URL)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _VISIBILITY_TIMEOUT,
        # A hung Redis must fail fast, not hang a request.
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "health_check_interval": 25,
        "retry_on_timeout": True,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": _VISIBILITY_TIMEOUT}
CELERY_VISIBILITY_TIMEOUT = _VISIBILITY_TIMEOUT
CELERY_TASK_ACKS_LATE = True
# With acks_late, a task running when the broker connection drops is cancelled (and
# redelivered) rather than finishing unacknowledged and running twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if CELERY_BROKER_URL.startswith(("sqla+", "sqlalchemy+")):
    # kombu's polling transports sleep a polling interval (1 s) whenever the prefetch
    # window is full: with 1 a worker drains about 30 tasks/s, with 4 about 140
    # (bench/embedded_broker.py). This transport has no redelivery after kill -9 either
    # way; what a lost message did is re-derived from the database rows.
    CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat writes PeriodicTask.last_run_at after every send (default: every 3 minutes), so
# /healthz can tell a 5-second task that stopped from one that runs.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The beat schedule is declared in code (settlement/schedule.py fills it per app).
CELERY_BEAT_SCHEDULE: dict = {}

# --- Logging --------------------------------------------------------------------
# JSON lines in production (DJANGO_SECURE), plain text in development; LOG_FORMAT
# overrides. Every line carries the request id (config/request_id.py): "-" outside a
# request, the enqueuing request's id inside a Celery task it caused.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if env.bool("DJANGO_SECURE", default=False) else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Security events (bad signatures, lockouts). Never log request bodies here.
        "security": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"level": "WARNING"},
    },
}

# Celery keeps its own log format unless the JSON lines are wanted everywhere.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# --- Metrics (issue 14 item 4, config/metrics.py) ----------------------------------
# /metrics answers only with `Authorization: Bearer $METRICS_TOKEN` (401 otherwise),
# and is a 404 while no token is configured.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# prometheus_client's multiprocess files: shared by every process of one host (a
# volume in docker-compose.yml); `make run` empties it at start.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "prometheus"))

# --- Acquirer API (issue 3) -----------------------------------------------------
# The docs page explains how to sign a request, with a copy-paste Python example.
from channels.api.signing import SIGNING_GUIDE  # noqa: E402

SPECTACULAR_SETTINGS["DESCRIPTION"] += "\n" + SIGNING_GUIDE
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update({
    "TransactionStatusEnum": "settlement.lifecycle.Status",
    "PayoutStatusEnum": "settlement.models.transactions.Payout.Status",
    "UpsertResultEnum": ["created", "updated"],
    "TransactionResultEnum": ["created", "duplicate", "rejected"],
    "EventResultEnum": ["applied", "duplicate", "stale", "rejected"],
    "SettlementLineResultEnum": ["matched", "amount_mismatch", "fee_mismatch", "status_mismatch",
                                 "missing_in_file", "unknown_to_us", "duplicate_in_file"],
})
SPECTACULAR_SETTINGS.setdefault("TAGS", []).append(
    {"name": "acquirer", "description": "Signed machine-to-machine ingest for acquirers and payment platforms."}
)
# Card numbers never reach a log line, even inside a logged URL path.
LOGGING.setdefault("filters", {})["redact_card_numbers"] = {"()": "channels.api.log_filters.RedactCardNumbers"}
for _logger in ("django.request", "django.server"):
    LOGGING["loggers"].setdefault(_logger, {}).setdefault("filters", []).append("redact_card_numbers")

# --- Polling the channels' status APIs (issue 4) ---------------------------------
POLL_BATCH_SIZE = env.int("POLL_BATCH_SIZE", default=200)  # references per status request
POLL_MAX_BATCHES = env.int("POLL_MAX_BATCHES", default=10)  # per task run; a full last batch re-enqueues
# A claimed row is leased for this long: a worker killed mid-poll loses it at most this long.
POLL_LEASE_SECONDS = env.int("POLL_LEASE_SECONDS", default=120)
POLL_MAX_BACKOFF_SECONDS = env.int("POLL_MAX_BACKOFF_SECONDS", default=3600)
# A row whose poll answers failed to apply this many times in a row stops being polled
# (next_poll_at cleared) and its channel shows the error to staff.
POLL_MAX_APPLY_FAILURES = env.int("POLL_MAX_APPLY_FAILURES", default=5)
POLL_CONNECT_TIMEOUT = env.float("POLL_CONNECT_TIMEOUT", default=3.05)
POLL_READ_TIMEOUT = env.float("POLL_READ_TIMEOUT", default=10.0)
POLL_HTTP_ATTEMPTS = env.int("POLL_HTTP_ATTEMPTS", default=3)
# Status APIs are https://, except on these hosts (a simulator beside the app).
POLL_PLAIN_HTTP_HOSTS = env.list("POLL_PLAIN_HTTP_HOSTS", default=["localhost", "127.0.0.1", "::1"])
POLL_RETRY_BASE_DELAY = env.float("POLL_RETRY_BASE_DELAY", default=0.25)
POLL_RETRY_MAX_DELAY = env.float("POLL_RETRY_MAX_DELAY", default=2.0)
# Consecutive failed polls before a channel is degraded / down.
CHANNEL_DEGRADED_AFTER = env.int("CHANNEL_DEGRADED_AFTER", default=2)
CHANNEL_DOWN_AFTER = env.int("CHANNEL_DOWN_AFTER", default=5)
CELERY_BEAT_SCHEDULE["channels-poll-due"] = {
    "task": "channels.tasks.poll_due_channels",
    "schedule": env.float("POLL_BEAT_SECONDS", default=5.0),
}
CELERY_BEAT_SCHEDULE["channels-purge-webhook-receipts"] = {
    "task": "channels.tasks.purge_webhook_receipts",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["channels-worker-heartbeat"] = {
    "task": "channels.tasks.worker_heartbeat",
    "schedule": 30.0,
}

# --- Merchant dashboard (issue 6) ------------------------------------------------
# Demo mode (`make run` turns it on): the login pages show the demo logins. Off, nobody
# sees them, even where the demo data happens to be loaded.
DEMO_MODE = env.bool("DEMO_MODE", default=False)
# An invitation link (merchants.invitations) works once, for this long.
INVITATION_VALID_HOURS = env.int("INVITATION_VALID_HOURS", default=72)
# Phone login (merchants.phone_login): the SMS backend, a class with send(*, phone, text);
# the console one writes the code to the log (development).
SMS_BACKEND = env.str("SMS_BACKEND", default="merchants.sms.ConsoleSmsBackend")
LOGIN_CODE_MAX_PER_HOUR = env.int("LOGIN_CODE_MAX_PER_HOUR", default=5)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["CaseStatusEnum"] = "settlement.models.cases.FollowUpCase.Status"

# --- Delay detection and follow-up (settlement.services.delays, issue 5) ----------
# Rows flagged per statement batch; a full batch makes the scan loop again.
DELAYS_BATCH_SIZE = env.int("DELAYS_BATCH_SIZE", default=1000)
# A swipe is "at risk" from this long before its expected arrival until it is late.
DELAYS_AT_RISK_LEAD_MINUTES = env.int("DELAYS_AT_RISK_LEAD_MINUTES", default=30)
# This many swipes of one channel late within the window become one channel incident.
DELAYS_INCIDENT_THRESHOLD = env.int("DELAYS_INCIDENT_THRESHOLD", default=20)
DELAYS_INCIDENT_WINDOW_MINUTES = env.int("DELAYS_INCIDENT_WINDOW_MINUTES", default=60)
# A case is due this many business days (channel calendar) after it opened.
DELAYS_CASE_SLA_BUSINESS_DAYS = env.int("DELAYS_CASE_SLA_BUSINESS_DAYS", default=1)
# An open or claimed case nobody touched for this many business hours (hours on the
# channel calendar's business days, like the SLA) is escalated.
DELAYS_CASE_ESCALATE_AFTER_HOURS = env.int("DELAYS_CASE_ESCALATE_AFTER_HOURS", default=8)
# A channel with this many consecutive failed polls counts as an outage for causes.
DELAYS_POLL_FAILURES_OUTAGE = env.int("DELAYS_POLL_FAILURES_OUTAGE", default=3)
CELERY_BEAT_SCHEDULE["flag-delays"] = {"task": "settlement.tasks.flag_delays", "schedule": 60.0}

# --- Reconciliation (settlement.services.reconciliation, issue 12) ---------------
# Lines per settlement file from an upload or the daily pull (the signed API keeps its
# own limit, API_MAX_BATCH_ITEMS, and 1 MiB).
RECON_MAX_FILE_LINES = env.int("RECON_MAX_FILE_LINES", default=2_000_000)
RECON_MAX_UPLOAD_BYTES = env.int("RECON_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
# A line without a reference matches a swipe of the same merchant, terminal and amount
# captured within this many seconds (marked fuzzy).
RECON_FUZZY_TOLERANCE_SECONDS = env.int("RECON_FUZZY_TOLERANCE_SECONDS", default=120)
# The daily pull: from this local hour on the day after a business date, each channel's
# file is fetched and retried every RECON_PULL_RETRY_MINUTES until it arrives; still
# missing RECON_PULL_MISSING_AFTER_HOURS after the first try, it becomes a break.
RECON_PULL_ENABLED = env.bool("RECON_PULL_ENABLED", default=True)
RECON_PULL_AFTER_HOUR = env.int("RECON_PULL_AFTER_HOUR", default=6)
# 1: yesterday's file (the acquirer's usual T+1 delivery); 0 also pulls today's (demo).
RECON_PULL_LAG_DAYS = env.int("RECON_PULL_LAG_DAYS", default=1)
RECON_PULL_RETRY_MINUTES = env.int("RECON_PULL_RETRY_MINUTES", default=15)
RECON_PULL_MISSING_AFTER_HOURS = env.int("RECON_PULL_MISSING_AFTER_HOURS", default=6)
RECON_PULL_TIMEOUT = env.float("RECON_PULL_TIMEOUT", default=30.0)
# After downtime the pull also fetches the business dates it missed since its last pull of a
# channel, at most this many days back, skipping dates that already have a file.
RECON_PULL_CATCHUP_DAYS = env.int("RECON_PULL_CATCHUP_DAYS", default=7)
CELERY_BEAT_SCHEDULE["recon-pull-files"] = {
    "task": "settlement.tasks.pull_settlement_files",
    "schedule": env.float("RECON_PULL_BEAT_SECONDS", default=300.0),
}

# --- Notification outbox (settlement.services.notifications, issue 9 item 7) ------
# A new row's email is sent by a task queued after commit; the sweeper takes over when
# that has not happened this long after (the message was lost with the broker).
NOTIFICATION_EMAIL_SWEEP_AFTER_SECONDS = env.int("NOTIFICATION_EMAIL_SWEEP_AFTER_SECONDS", default=60)
# A sender holds a claimed row this long; a sender killed mid-send frees it after that.
NOTIFICATION_EMAIL_LEASE_SECONDS = env.int("NOTIFICATION_EMAIL_LEASE_SECONDS", default=120)
# Failed sends back off exponentially from the base up to the cap, then give up.
NOTIFICATION_EMAIL_RETRY_BASE_SECONDS = env.int("NOTIFICATION_EMAIL_RETRY_BASE_SECONDS", default=60)
NOTIFICATION_EMAIL_RETRY_MAX_SECONDS = env.int("NOTIFICATION_EMAIL_RETRY_MAX_SECONDS", default=3600)
NOTIFICATION_EMAIL_MAX_ATTEMPTS = env.int("NOTIFICATION_EMAIL_MAX_ATTEMPTS", default=8)
NOTIFICATION_SWEEP_BATCH_SIZE = env.int("NOTIFICATION_SWEEP_BATCH_SIZE", default=100)
CELERY_BEAT_SCHEDULE["notifications-sweep"] = {
    "task": "settlement.tasks.sweep_notification_emails",
    "schedule": env.float("NOTIFICATION_SWEEP_BEAT_SECONDS", default=30.0),
}

# --- Health (/healthz, /staff/health/, issue 14 item 3) ----------------------------
# Everything but the database check is cached this long (per cache backend).
HEALTHZ_CACHE_SECONDS = env.int("HEALTHZ_CACHE_SECONDS", default=5)

# --- Deadlines that follow the calendar (settlement.services.reschedule, issue 10) ----
# Swipes per recompute batch (one lock, one UPDATE, one INSERT each); a full batch
# re-enqueues the task.
DEADLINES_RECOMPUTE_BATCH_SIZE = env.int("DEADLINES_RECOMPUTE_BATCH_SIZE", default=2000)
# Unfinished recompute requests are picked up this often (a lost doorbell costs this much).
CELERY_BEAT_SCHEDULE["deadlines-recompute"] = {"task": "settlement.tasks.recompute_deadlines", "schedule": 30.0}
# Merchants get their holiday settlement plan this many days before a holiday period.
HOLIDAY_PLAN_DAYS_BEFORE = env.int("HOLIDAY_PLAN_DAYS_BEFORE", default=3)
CELERY_BEAT_SCHEDULE["holiday-plans"] = {"task": "settlement.tasks.send_holiday_plans", "schedule": 3600.0}

# --- Staff workspace (settlement.staff, settlement.services.assignment) ------------
# New unassigned cases go to agents on duty (Django group "on_duty"), the least loaded
# first, each holding at most the cap of open cases. Off by default.
STAFF_AUTO_ASSIGN = env.bool("STAFF_AUTO_ASSIGN", default=False)
STAFF_AUTO_ASSIGN_CAP = env.int("STAFF_AUTO_ASSIGN_CAP", default=25)
