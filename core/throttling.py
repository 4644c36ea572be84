"""DRF throttles that step aside while the cache is unreachable.

Rate limits are counters in the cache (Redis). When Redis restarts, DRF's throttles would raise and turn every API
request into a 500, although nothing the request does needs the cache: the ledger, the outbox and the idempotency
keys live in PostgreSQL. These throttles let the request through and log a warning instead; the limits apply again
as soon as the cache answers. The login and registration forms keep their own counters (accounts.services).
Anonymous callers are counted per client address from core.client_address, like the forms.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from rest_framework import throttling

from core.client_address import client_address

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

CACHE_ERRORS = (RedisError, ConnectionError, TimeoutError)


class _CacheTolerant:
    scope: str | None

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            allowed: bool = super().allow_request(request, view)  # type: ignore[misc]
            return allowed
        except CACHE_ERRORS as error:
            logger.warning("rate limit %s not applied: the cache is unreachable (%s)", self.scope, error)
            return True

    def get_ident(self, request: Request) -> str:
        """Anonymous callers are counted by the address core.client_address gives, never a header they wrote."""
        return client_address(request)


class AnonRateThrottle(_CacheTolerant, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_CacheTolerant, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_CacheTolerant, throttling.ScopedRateThrottle):
    pass
