"""Production settings: every secret comes from the environment with no default, PostgreSQL and Redis required."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL, env

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    raise ImproperlyConfigured("Production needs DATABASE_URL pointing at PostgreSQL.")
if not REDIS_URL:
    raise ImproperlyConfigured("Production needs REDIS_URL for the broker, cache and channel layer.")

DEBUG = False
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL")
# The portal's did:web names this host; a default would publish credentials under "localhost".
PORTAL_HOST = env.str("PORTAL_HOST")
# Signing keys of their own, never derived from DJANGO_SECRET_KEY: rotating the secret key must not invalidate every
# printed QR code, and a leaked secret key must not forge acquirer webhooks.
PAYMENTS_QR_SIGNING_KEY = env.str("PAYMENTS_QR_SIGNING_KEY")
PAYMENTS_SANDBOX_WEBHOOK_SECRET = env.str("PAYMENTS_SANDBOX_WEBHOOK_SECRET")
# The bank accounts money really moves through; the development defaults are the SEPA scheme's test identifiers.
PAYMENTS_SEPA_IBAN = env.str("PAYMENTS_SEPA_IBAN")
PAYMENTS_SEPA_BIC = env.str("PAYMENTS_SEPA_BIC")
LEASING_SEPA_CREDITOR_IBAN = env.str("LEASING_SEPA_CREDITOR_IBAN")
LEASING_SEPA_CREDITOR_BIC = env.str("LEASING_SEPA_CREDITOR_BIC")
LEASING_SEPA_CREDITOR_ID = env.str("LEASING_SEPA_CREDITOR_ID")
# The sandbox acquirer approves published test cards: real codes for no money. SEPA transfer stays on.
PAYMENTS_SANDBOX_ACQUIRER = env.bool("PAYMENTS_SANDBOX_ACQUIRER", default=False)
# The demo issuers would give any customer a credit credential that passes dealer credit checks.
IDENTITY_DEMO_ISSUERS = env.bool("IDENTITY_DEMO_ISSUERS", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
LOG_FORMAT = "json"
LOGGING["handlers"]["console"]["formatter"] = "json"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
