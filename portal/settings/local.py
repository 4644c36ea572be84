"""Development and demo settings: `make run` on one machine, embedded defaults, console e-mail."""

import os

# A development-only key; production has no default (see production.py).
os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-key-not-for-production-use-7f3b9c1e5d2a")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "Rdlz4B49r49xJtJEkPMtZGTMWrFa0hamcYDgA3ezPx0=")

from .base import *  # noqa: F403
from .base import env

# Served over plain HTTP on localhost, so cookies cannot be marked Secure here.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://localhost:8000")
