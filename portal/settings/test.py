"""Test settings: PostgreSQL and Redis are required (tests never fall back to SQLite), fast password hashing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-key-only-used-by-the-test-suite-4c8a1f0e9b7d6c5a")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/finlab")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "Xlym4Gw87vUw8HvyvrgXSbGiXaNaVr9id6zI-UMEvQ0=")
# Concurrency tests run up to 50 threads at once, each with its own connection: the pool must not queue them.
os.environ.setdefault("DATABASE_POOL_MAX_SIZE", "60")

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A worker process a test starts writes its e-mails to files the test counts, and may post to a loopback receiver.
if os.environ.get("TEST_EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["TEST_EMAIL_FILE_PATH"]
OUTBOUND_HTTP_ALLOW_PLAIN_HTTP = os.environ.get("TEST_OUTBOUND_HTTP_ALLOW_PLAIN_HTTP") == "true"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://testserver")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Throttles are exercised by their own tests with explicit rates; the rest of the suite must not trip them. A server
# process a test starts takes its rates from the environment.
REST_FRAMEWORK = REST_FRAMEWORK | {
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="100000/minute"),
        "user": env.str("API_THROTTLE_USER", default="100000/minute"),
        "money": env.str("API_THROTTLE_MONEY", default="100000/minute"),
        "credit_check": env.str("API_THROTTLE_CREDIT_CHECK", default="100000/minute"),
    }
}
LOGIN_RATE_PER_MINUTE = env.int("LOGIN_RATE_PER_MINUTE", default=10000)
CREDIT_CHECK_PAGE_RATE_PER_MINUTE = 10000
VEHICLE_TOP_UP_RATE_PER_MINUTE = 10000
PAYMENTS_QR_UPLOAD_RATE_PER_MINUTE = 10000

# One test database per test run, so that several runs on one machine (a developer's and a benchmark's) never drop
# each other's database; child processes (Celery workers) read the name from the live connection.
DATABASES["default"]["TEST"] = {"NAME": f"test_finlab_{os.getpid()}"}
# Likewise one cache key prefix per run: the suite clears its own keys before each test, never another run's.
CACHES["default"]["KEY_PREFIX"] = f"test{os.getpid()}"

# The independent test wallet (identity/tests/wallet) is the one public client of the authorization code flow; its
# redirect URI is never fetched (the test reads the code from the redirect).
OPENID4VCI_PUBLIC_CLIENTS = {"finlab-test-wallet": ["https://wallet.test/callback"]}
