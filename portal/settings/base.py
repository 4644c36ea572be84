"""Settings shared by every environment, read from the environment with django-environ.

With no `DATABASE_URL` / `REDIS_URL` the portal runs on embedded defaults that need no server: a SQLite file,
Celery's filesystem transport, an in-memory channel layer and a database cache. With them set it uses PostgreSQL
and Redis.
"""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]
env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)


def env_networks(name: str, *, default: list[str]) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks; a malformed entry stops the portal at start-up."""
    values = [value.strip() for value in env.list(name, default=default) if value.strip()]
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as error:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an IP address or network.") from error
    return values


VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
PORTAL_HOST = env.str("PORTAL_HOST", default="localhost")
# Reverse proxies whose X-Forwarded-For the portal believes (addresses or networks, comma-separated; none by default):
# the login limits, API throttles and logs take the client address from core/client_address.py.
PORTAL_TRUSTED_PROXIES = env_networks("PORTAL_TRUSTED_PROXIES", default=[])
# Address and port `manage.py portal_run` (`make run`) serves on; local settings derive PORTAL_HOST from them.
PORTAL_BIND = env.str("PORTAL_BIND", default="127.0.0.1")
PORTAL_PORT = env.int("PORTAL_PORT", default=8000)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "channels",
    "csp",
    "core",
    "portal",
    "accounts",
    "identity",
    "payments",
    "leasing",
    "credit_checks",
    "machines",
]

MIDDLEWARE = [
    "portal.logging.RequestIdMiddleware",
    "portal.middleware.RejectNulBytesMiddleware",
    # Before SecurityMiddleware: X-Forwarded-Proto counts only from PORTAL_TRUSTED_PROXIES (SECURE_PROXY_SSL_HEADER).
    "portal.middleware.UntrustedForwardedProtoMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the request: the signed-in user's choice (applied below), else the language cookie, else the
    # browser's Accept-Language. After the session, before CommonMiddleware (Django's documented order).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # The signed-in user's language and time zone for this request (accounts.User.language / time_zone).
    "accounts.middleware.UserLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    # Innermost, and synchronous only: under ASGI, Django runs a middleware asynchronously when everything inside it
    # can, and each asynchronous MiddlewareMixin hops to a thread and back for its request and response hooks. With a
    # synchronous-only middleware last, the whole chain runs in one thread (3 hops per request instead of 8). Its own
    # answers (the redirect to the second factor, the API's 403) also get the headers of the middleware above it.
    "accounts.middleware.SecondFactorRequiredMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.navigation",
            ],
            # Translation tags and the locale-aware money and time filters on every template without a {% load %}.
            "builtins": ["django.templatetags.i18n", "portal.templatetags.money", "portal.templatetags.when"],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers (web + worker) wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
else:
    # One connection pool per process (psycopg_pool). Under ASGI each request runs its synchronous code in a thread of
    # its own, so connections kept per thread (CONN_MAX_AGE) would be opened anew for every request and left behind;
    # the pool hands the same few connections from request to request. A request waits up to the timeout for one.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Every connection the pool hands out is checked; portal.database checks it without a round trip when its socket
    # shows it healthy (Django's own backend sends an empty query each time).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "portal.database"
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache, channel layer ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "portal.cache.SharedRedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    # Shared by the web server and the worker processes, unlike the local-memory cache.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery --------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # Longer than the longest task, so a running task is never handed out a second time (see PITFALLS).
    "visibility_timeout": 3600,
}
if not REDIS_URL:
    _queue_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat stays single across hosts (portal/beat.py): it sends only while it holds a lease in Redis, and each scheduled
# entry at most once per interval. Without Redis (the embedded defaults) there is one beat on one machine.
BEAT_LOCK_REDIS_URL = env.str("BEAT_LOCK_REDIS_URL", default="") or REDIS_URL
BEAT_LEASE_SECONDS = env.float("BEAT_LEASE_SECONDS", default=30.0)
if BEAT_LOCK_REDIS_URL:
    CELERY_BEAT_SCHEDULER = "portal.beat:LeaderScheduler"
CELERY_TIMEZONE = "UTC"

# --- Authentication ------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
OTP_TOTP_ISSUER = "FinLab"
# Failed logins per account (hashed e-mail) and per client address before a temporary lockout, and its length.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
# Requests per minute a client address may make to the login and registration forms.
LOGIN_RATE_PER_MINUTE = env.int("LOGIN_RATE_PER_MINUTE", default=20)
# Requests per minute a signed-in user may send to the credit-check forms (a dealer opening one, a customer answering).
CREDIT_CHECK_PAGE_RATE_PER_MINUTE = env.int("CREDIT_CHECK_PAGE_RATE_PER_MINUTE", default=30)
# Top-ups a vehicle owner may ask for per minute (from a payment code or by card), confirmations included.
VEHICLE_TOP_UP_RATE_PER_MINUTE = env.int("VEHICLE_TOP_UP_RATE_PER_MINUTE", default=10)
EMAIL_CONFIRMATION_MAX_AGE_SECONDS = 3 * 24 * 3600

# --- E-mail --------------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FinLab <no-reply@finlab.example>")

# --- API -----------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.CachedContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "core.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        "money": env.str("API_THROTTLE_MONEY", default="600/minute"),
        "credit_check": env.str("API_THROTTLE_CREDIT_CHECK", default="120/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # DRF's own get_ident trusts X-Forwarded-For unless told otherwise; the portal's throttles ask
    # core.client_address instead, and any stock throttle takes the peer.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FinLab portal API",
    "DESCRIPTION": "Payments, leasing, credentials and machine payments of the FinLab financial-services portal.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.add_error_responses"],
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": ["active", "suspended", "revoked"],  # a credential's status keeps its name
        "QrCodeStatusEnum": "payments.models.QrCodeStatus",
        "CheckoutOrderStatusEnum": "payments.models.CheckoutOrderStatus",
    },
}

# --- Internationalisation ------------------------------------------------------------------------------------------
# English unless the browser or the user asks for German. Every time is stored in UTC and shown in the user's zone
# (accounts.User.time_zone, Europe/Berlin unless changed); TIME_ZONE is the zone of visitors who are not signed in.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# British day-month order for English date input ("01/02/2027" is 1 February); German uses Django's own formats.
FORMAT_MODULE_PATH = ["portal.formats"]
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Security ------------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "media-src": ["'self'", "blob:"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Logging -------------------------------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logging.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(client)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(client)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "INFO"},
        # The `ocpp` library logs every frame a station sends and receives at INFO: two lines per message of every
        # connected station. The gateway logs refusals and failures itself (machines.ocpp); OCPP_LOG_LEVEL=INFO brings
        # the frames back when a station's conversation is to be read.
        "ocpp": {"level": env.str("OCPP_LOG_LEVEL", default="WARNING")},
    },
}

# --- Outbound HTTP to URLs users choose (dealer webhooks; core/outbound.py) -----------------------------------------
# https:// only; development settings allow http://. Networks allowed although internal (CIDR, comma-separated): none.
OUTBOUND_HTTP_ALLOW_PLAIN_HTTP = False
OUTBOUND_HTTP_ALLOWED_NETWORKS = env_networks("OUTBOUND_HTTP_ALLOWED_NETWORKS", default=[])

# --- Tangle ---------------------------------------------------------------------------------------------------
TANGLE_NODE_URL = env.str("TANGLE_NODE_URL", default="")
# Longest wait, in seconds, for the node while a verifier confirms an anchor; past it the check is anchor_unverifiable.
TANGLE_VERIFY_TIMEOUT_SECONDS = env.int("TANGLE_VERIFY_TIMEOUT_SECONDS", default=5)
CSRF_FAILURE_VIEW = "core.api.csrf_failure"
CELERY_BEAT_SCHEDULE["payments.pending_transfers_expire"] = {
    "task": "payments.pending_transfers_expire",
    "schedule": 60.0,
}
# Reminders of QR codes with money left that expire within 30 days: hourly, so a beat that was down catches up the
# same day; each code is reminded once per expiry (payments.notifications).
CELERY_BEAT_SCHEDULE["payments.code_expiry_reminders_queue"] = {
    "task": "payments.code_expiry_reminders_queue",
    "schedule": 3600.0,
    "options": {"expires": 3600.0},
}
# The outbox (core.outbox): every effect after commit. The one sweep hands overdue messages to the broker again (a lost
# Redis message, a worker killed mid-task), waiting OUTBOX_ACK_TIMEOUT_SECONDS after the first hand-over and twice as
# long after each further one (at most OUTBOX_BACKOFF_MAX_SECONDS); after OUTBOX_MAX_ATTEMPTS a message is dead.
OUTBOX_PENDING_GRACE_SECONDS = env.float("OUTBOX_PENDING_GRACE_SECONDS", default=10.0)
OUTBOX_ACK_TIMEOUT_SECONDS = env.float("OUTBOX_ACK_TIMEOUT_SECONDS", default=120.0)
OUTBOX_BACKOFF_MAX_SECONDS = env.float("OUTBOX_BACKOFF_MAX_SECONDS", default=3600.0)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
CELERY_BEAT_SCHEDULE["core.outbox_sweep"] = {
    "task": "core.outbox_sweep",
    "schedule": 10.0,
    "options": {"expires": 10.0},
}
# --- Idempotency-Key of money-moving requests (core.idempotency) ------------------------------------------------------
# How long a request waits for a concurrent one holding the same key before it answers idempotency_key_in_progress.
IDEMPOTENCY_LOCK_TIMEOUT_MS = env.int("IDEMPOTENCY_LOCK_TIMEOUT_MS", default=10_000)
# Stored first answers are kept this many days; a retry after that books again.
IDEMPOTENCY_RETENTION_DAYS = env.int("IDEMPOTENCY_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["core.idempotency_records_purge"] = {
    "task": "core.idempotency_records_purge",
    "schedule": 3600.0,
    "options": {"expires": 3600.0},
}
# --- Identity: keys at rest and Tangle anchoring ------------------------------------------------------------------
# Keys of every encrypted field (core.encryption): comma-separated Fernet keys (32 random bytes, URL-safe base64),
# newest first; the first encrypts, all decrypt. FIELD_ENCRYPTION_KEY (one key) is still read when FIELD_ENCRYPTION_KEYS
# is unset. No default: a missing key stops the portal at start-up.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or env.list("FIELD_ENCRYPTION_KEY")
TANGLE_ANCHOR_INTERVAL_SECONDS = env.int("TANGLE_ANCHOR_INTERVAL_SECONDS", default=30)
TANGLE_ANCHOR_BATCH_SIZE = env.int("TANGLE_ANCHOR_BATCH_SIZE", default=20_000)
CELERY_BEAT_SCHEDULE["identity.anchor_pending_leaves"] = {
    "task": "identity.anchor_pending_leaves",
    "schedule": float(TANGLE_ANCHOR_INTERVAL_SECONDS),
    "options": {"expires": float(TANGLE_ANCHOR_INTERVAL_SECONDS)},
}
# --- Payments: QR payment codes and checkout ------------------------------------------------------------------------
# Base64url of a 32-byte Ed25519 seed signing the QR code tokens; empty derives one from DJANGO_SECRET_KEY (HKDF).
PAYMENTS_QR_SIGNING_KEY = env.str("PAYMENTS_QR_SIGNING_KEY", default="")
# HMAC secret of the sandbox acquirer's webhooks; empty derives one from DJANGO_SECRET_KEY.
PAYMENTS_SANDBOX_WEBHOOK_SECRET = env.str("PAYMENTS_SANDBOX_WEBHOOK_SECRET", default="")
# The sandbox card acquirer (test cards, challenge step, signed webhooks): the embedded default card provider. It
# approves the published test cards, so production turns it off (see production.py).
PAYMENTS_SANDBOX_ACQUIRER = env.bool("PAYMENTS_SANDBOX_ACQUIRER", default=True)
PAYMENTS_WEBHOOK_TOLERANCE_SECONDS = env.int("PAYMENTS_WEBHOOK_TOLERANCE_SECONDS", default=300)
PAYMENTS_QR_AUTHORIZATION_TIMEOUT_SECONDS = env.int("PAYMENTS_QR_AUTHORIZATION_TIMEOUT_SECONDS", default=7 * 24 * 3600)
PAYMENTS_QR_UPLOAD_MAX_BYTES = env.int("PAYMENTS_QR_UPLOAD_MAX_BYTES", default=2 * 1024 * 1024)
# Photos of QR codes (payments/qr/images.py): the stated dimensions are checked before decoding (12.6 megapixels: a
# 12 MP phone photo or a 4K screenshot), pictures decoded at once per process (each costs up to ~65 MB), how long an
# upload waits for a decode slot (seconds), and photos a signed-in user may upload per minute.
PAYMENTS_QR_UPLOAD_MAX_PIXELS = env.int("PAYMENTS_QR_UPLOAD_MAX_PIXELS", default=12_600_000)
PAYMENTS_QR_DECODE_CONCURRENCY = env.int("PAYMENTS_QR_DECODE_CONCURRENCY", default=2)
PAYMENTS_QR_DECODE_WAIT_SECONDS = env.float("PAYMENTS_QR_DECODE_WAIT_SECONDS", default=30.0)
PAYMENTS_QR_UPLOAD_RATE_PER_MINUTE = env.int("PAYMENTS_QR_UPLOAD_RATE_PER_MINUTE", default=10)
PAYMENTS_SEPA_BENEFICIARY_NAME = env.str("PAYMENTS_SEPA_BENEFICIARY_NAME", default="FinLab Financial Services GmbH")
PAYMENTS_SEPA_IBAN = env.str("PAYMENTS_SEPA_IBAN", default="DE89370400440532013000")
PAYMENTS_SEPA_BIC = env.str("PAYMENTS_SEPA_BIC", default="COBADEFFXXX")
# --- Machines: wallets, OCPP gateway, machine API --------------------------------------------------------------------
# How long a charging session's hold may stay open before the ledger's expiry task releases it (seconds).
MACHINES_SESSION_HOLD_SECONDS = env.int("MACHINES_SESSION_HOLD_SECONDS", default=48 * 3600)
# EUR per IOTA used when no rate has been entered in the rate table (back office); the invoice names the source.
MACHINES_IOTA_EUR_RATE = env.str("MACHINES_IOTA_EUR_RATE", default="0.15")
# Signed machine requests: largest clock difference accepted, and how long nonces are remembered (seconds).
# OCPP handshakes: failed Basic-auth attempts per station id before the id is refused for the lockout period.
MACHINES_STATION_AUTH_FAILURE_LIMIT = env.int("MACHINES_STATION_AUTH_FAILURE_LIMIT", default=10)
MACHINES_STATION_LOCKOUT_SECONDS = env.int("MACHINES_STATION_LOCKOUT_SECONDS", default=900)
# OCPP heartbeats: the stations' "last seen" moments are written together, one statement at most this many seconds
# after a heartbeat (machines.ocpp.central_system.LastSeen); a crash loses at most this much "last seen".
MACHINES_OCPP_LAST_SEEN_FLUSH_SECONDS = env.float("MACHINES_OCPP_LAST_SEEN_FLUSH_SECONDS", default=10.0)
# OCPP database work runs in this many threads per web process (machines.ocpp.database), each keeping one pooled
# connection while calls keep coming: by default at most half the pool, so the process's other requests still get one.
# A thread hands its connection back after this many idle seconds, and after holding it this long in any case.
MACHINES_OCPP_DB_THREADS = env.int(
    "MACHINES_OCPP_DB_THREADS", default=max(1, min(4, env.int("DATABASE_POOL_MAX_SIZE", default=10) // 2))
)
# A station connection that sent nothing for this long is closed (the websocket server sends no pings): twice the
# heartbeat interval the gateway gives stations (300 s), and a minute's grace.
MACHINES_OCPP_IDLE_CLOSE_SECONDS = env.float("MACHINES_OCPP_IDLE_CLOSE_SECONDS", default=660.0)
MACHINES_OCPP_DB_IDLE_SECONDS = env.float("MACHINES_OCPP_DB_IDLE_SECONDS", default=1.0)
MACHINES_OCPP_DB_CONNECTION_SECONDS = env.float("MACHINES_OCPP_DB_CONNECTION_SECONDS", default=300.0)
# Authorize/StartTransaction: refused answers per station and per operator before every answer to that station (or all
# of the operator's stations) is a refusal for the lockout period; stops id-token guessing.
MACHINES_AUTHORIZE_FAILURE_LIMIT_STATION = env.int("MACHINES_AUTHORIZE_FAILURE_LIMIT_STATION", default=10)
MACHINES_AUTHORIZE_FAILURE_LIMIT_OPERATOR = env.int("MACHINES_AUTHORIZE_FAILURE_LIMIT_OPERATOR", default=30)
MACHINES_AUTHORIZE_LOCKOUT_SECONDS = env.int("MACHINES_AUTHORIZE_LOCKOUT_SECONDS", default=900)
MACHINES_REQUEST_WINDOW_SECONDS = env.int("MACHINES_REQUEST_WINDOW_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["machines.charging_invoices_anchor_missing"] = {
    "task": "machines.charging_invoices_anchor_missing",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}
CELERY_BEAT_SCHEDULE["machines.request_nonces_purge"] = {
    "task": "machines.request_nonces_purge",
    "schedule": 600.0,
    "options": {"expires": 600.0},
}
# --- Leasing -------------------------------------------------------------------------------------------------------
# Financed amount (minor units) above which two different back-office users must approve an application.
LEASING_FOUR_EYES_LIMIT = env.int("LEASING_FOUR_EYES_LIMIT", default=50_000_00)
# Days a credit-check verdict may be applied to a lease application after it was given; older ones are refused.
LEASING_CREDIT_VERDICT_VALID_DAYS = env.int("LEASING_CREDIT_VERDICT_VALID_DAYS", default=30)
# Delinquency buckets in days past due; level n is the n-th range ("91-" is open-ended).
LEASING_DELINQUENCY_BUCKETS = env.str("LEASING_DELINQUENCY_BUCKETS", default="1-30,31-60,61-90,91-")
LEASING_LATE_FEE = env.int("LEASING_LATE_FEE", default=5_00)  # minor units per overdue instalment
LEASING_LATE_FEE_GRACE_DAYS = env.int("LEASING_LATE_FEE_GRACE_DAYS", default=5)
LEASING_PAYOFF_QUOTE_VALID_DAYS = env.int("LEASING_PAYOFF_QUOTE_VALID_DAYS", default=10)
# The lessor as SEPA creditor (defaults are the scheme's published test identifiers).
LEASING_SEPA_CREDITOR_NAME = env.str("LEASING_SEPA_CREDITOR_NAME", default="FinLab Leasing")
LEASING_SEPA_CREDITOR_IBAN = env.str("LEASING_SEPA_CREDITOR_IBAN", default="DE89370400440532013000")
LEASING_SEPA_CREDITOR_BIC = env.str("LEASING_SEPA_CREDITOR_BIC", default="COBADEFFXXX")
LEASING_SEPA_CREDITOR_ID = env.str("LEASING_SEPA_CREDITOR_ID", default="DE98ZZZ09999999999")
CELERY_BEAT_SCHEDULE["leasing.pre_notifications_run"] = {
    "task": "leasing.pre_notifications_run",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["leasing.collections_run"] = {"task": "leasing.collections_run", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["leasing.arrears_run"] = {"task": "leasing.arrears_run", "schedule": 6 * 3600.0}
# The demo KYC provider and credit bureau that hand the browser wallet credentials on request. They issue a passing
# credit credential to anyone, so production turns them off (see production.py).
IDENTITY_DEMO_ISSUERS = env.bool("IDENTITY_DEMO_ISSUERS", default=True)

# OpenID4VCI issuer. The credential issuer identifier is the portal's https origin. Wallets are public clients of
# the authorization code flow: OPENID4VCI_PUBLIC_CLIENTS maps a client_id to the redirect URIs it may use (exact
# match), as JSON, e.g. {"my-wallet": ["https://wallet.example/callback"]}. Lifetimes are in seconds.
OPENID4VCI_CREDENTIAL_ISSUER = env.str("OPENID4VCI_CREDENTIAL_ISSUER", default=f"https://{PORTAL_HOST}")
OPENID4VCI_PUBLIC_CLIENTS = env.json("OPENID4VCI_PUBLIC_CLIENTS", default={})
OPENID4VCI_PRE_AUTHORIZED_CODE_TTL = env.int("OPENID4VCI_PRE_AUTHORIZED_CODE_TTL", default=600)
OPENID4VCI_TX_CODE_ATTEMPTS = env.int("OPENID4VCI_TX_CODE_ATTEMPTS", default=5)
OPENID4VCI_AUTHORIZATION_CODE_TTL = env.int("OPENID4VCI_AUTHORIZATION_CODE_TTL", default=60)
OPENID4VCI_ACCESS_TOKEN_TTL = env.int("OPENID4VCI_ACCESS_TOKEN_TTL", default=300)
OPENID4VCI_NONCE_TTL = env.int("OPENID4VCI_NONCE_TTL", default=300)
OPENID4VCI_PROOF_MAX_AGE = env.int("OPENID4VCI_PROOF_MAX_AGE", default=300)
# --- Credit checks --------------------------------------------------------------------------------------------------
# Days after which credit-check requests, verdicts, consent receipts, reviews and contests are deleted.
CREDIT_CHECK_RETENTION_DAYS = env.int("CREDIT_CHECK_RETENTION_DAYS", default=90)
CELERY_BEAT_SCHEDULE["identity.credit_checks_purge"] = {"task": "identity.credit_checks_purge", "schedule": 3600.0}
# Leasing pulls recorded credit-check verdicts into applications waiting for them, from the source the credit-check
# app registers at start-up (leasing never imports credit_checks).
CELERY_BEAT_SCHEDULE["leasing.credit_verdicts_collect"] = {
    "task": "leasing.credit_verdicts_collect",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}
