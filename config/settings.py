"""Settings: every value comes from the environment, with a default that works for
`make run` on a laptop (SQLite in WAL mode, a filesystem Celery broker). Production
sets DJANGO_SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and DJANGO_DEBUG=false.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Project-local runtime state (SQLite, broker folders, demo secrets).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The default key only serves local runs; `check --deploy` flags it.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-local-dev-only-change-me")
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
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "merchants",
    "channels",
    "settlement",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.sessions.IdleSessionMiddleware",  # idle expiry, see config/sessions.py
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
LOGOUT_REDIRECT_URL = "home"

# PCI DSS 8.2.8: sessions end after 15 idle minutes.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_REFRESH_SECONDS = env.int("SESSION_REFRESH_SECONDS", default=60)
SESSION_COOKIE_HTTPONLY = True

# django-axes: at most 10 failures, then 30 minutes locked out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = 0.5  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

# --- Production hardening (on when DJANGO_SECURE=true, i.e. behind TLS) ----------
if env.bool("DJANGO_SECURE", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

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

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "120/min", "user": "600/min"},
}
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

# --- Celery (RELIABILITY.md) ----------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"filesystem://localhost/{VAR_DIR}/broker")
_VISIBILITY_TIMEOUT = 3600
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # kombu's default is a relative "control" folder in the current directory.
        "control_folder": str(_broker_dir / "control"),
    }
    # kombu lists the folders but does not create them.
    for _name in ("out", "processed", "control"):
        (_broker_dir / _name).mkdir(parents=True, exist_ok=True)
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
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The beat schedule is declared in code (settlement/schedule.py fills it per app).
CELERY_BEAT_SCHEDULE: dict = {}

# --- Logging --------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Security events (bad signatures, lockouts). Never log request bodies here.
        "security": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"level": "WARNING"},
    },
}

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
    "SettlementLineResultEnum": ["matched", "mismatch", "unknown", "rejected"],
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
POLL_RETRY_BASE_DELAY = env.float("POLL_RETRY_BASE_DELAY", default=0.25)
POLL_RETRY_MAX_DELAY = env.float("POLL_RETRY_MAX_DELAY", default=2.0)
# Consecutive failed polls before a channel is degraded / down.
CHANNEL_DEGRADED_AFTER = env.int("CHANNEL_DEGRADED_AFTER", default=2)
CHANNEL_DOWN_AFTER = env.int("CHANNEL_DOWN_AFTER", default=5)
CELERY_BEAT_SCHEDULE["channels-poll-due"] = {
    "task": "channels.tasks.poll_due_channels",
    "schedule": env.float("POLL_BEAT_SECONDS", default=5.0),
}
CELERY_BEAT_SCHEDULE["channels-worker-heartbeat"] = {
    "task": "channels.tasks.worker_heartbeat",
    "schedule": 30.0,
}

# --- Merchant dashboard (issue 6) ------------------------------------------------
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
# An open or claimed case nobody touched for this long is escalated.
DELAYS_CASE_ESCALATE_AFTER_HOURS = env.int("DELAYS_CASE_ESCALATE_AFTER_HOURS", default=8)
# A channel with this many consecutive failed polls counts as an outage for causes.
DELAYS_POLL_FAILURES_OUTAGE = env.int("DELAYS_POLL_FAILURES_OUTAGE", default=3)
CELERY_BEAT_SCHEDULE["flag-delays"] = {"task": "settlement.tasks.flag_delays", "schedule": 60.0}

# --- Staff workspace (settlement.staff, settlement.services.assignment) ------------
# New unassigned cases go to agents on duty (Django group "on_duty"), the least loaded
# first, each holding at most the cap of open cases. Off by default.
STAFF_AUTO_ASSIGN = env.bool("STAFF_AUTO_ASSIGN", default=False)
STAFF_AUTO_ASSIGN_CAP = env.int("STAFF_AUTO_ASSIGN_CAP", default=25)
