"""Development and demo settings: `make run` on one machine, embedded defaults, console e-mail."""

import os

# A development-only key; production has no default (see production.py).
os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-key-not-for-production-use-7f3b9c1e5d2a")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "Rdlz4B49r49xJtJEkPMtZGTMWrFa0hamcYDgA3ezPx0=")

from .base import *  # noqa: F403
from .base import PORTAL_BIND, PORTAL_PORT, env, env_networks

# Served over plain HTTP on localhost, so cookies cannot be marked Secure here.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# A dealer's webhook receiver may run on this machine, over plain HTTP.
OUTBOUND_HTTP_ALLOW_PLAIN_HTTP = True
OUTBOUND_HTTP_ALLOWED_NETWORKS = env_networks("OUTBOUND_HTTP_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
# Where `make run` serves the portal. Every process (web server, worker, beat and any `manage.py` command run beside
# them) reads these same settings, so they all name the same did:web: did:web:127.0.0.1%3A8000 by default.
_SERVED_HOST = "localhost" if PORTAL_BIND in ("0.0.0.0", "::") else PORTAL_BIND  # noqa: S104 - a name, not a bind
PORTAL_HOST = env.str("PORTAL_HOST", default=f"{_SERVED_HOST}:{PORTAL_PORT}")
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default=f"http://{PORTAL_HOST}")
OPENID4VCI_CREDENTIAL_ISSUER = env.str("OPENID4VCI_CREDENTIAL_ISSUER", default=PORTAL_BASE_URL)
