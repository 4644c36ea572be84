"""DRF throttles that step aside while the cache is unreachable.

Rate limits are counters in the cache (Redis). When Redis restarts, DRF's throttles would raise and turn every API
request into a 500, although nothing the request does needs the cache: the ledger, the outbox and the idempotency
keys live in PostgreSQL. These throttles let the request through and log a warning instead; the limits apply again
as soon as the cache answers. The login and registration forms keep their own counters (accounts.services).
Anonymous callers are counted per client address from core.client_address, like the forms.

With Redis as the cache, a throttle costs one round trip: a sliding-window counter (this window's count plus the last
window's, weighted by how much of it still overlaps the last `duration` seconds) checked and counted by one Lua script,
instead of DRF's read and write of a timestamp list (two round trips, and a list as long as the rate). Only requests
let through are counted, as with DRF. Any other cache keeps DRF's list.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework import throttling

from core.client_address import client_address

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

CACHE_ERRORS = (RedisError, ConnectionError, TimeoutError)


# KEYS: this window's counter, the last window's. ARGV: the last window's weight (0..1), the limit, the counter's
# lifetime in seconds. Returns 0 (refused, nothing counted), or 1 with this request counted.
_SLIDING_WINDOW = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[1]) + current >= tonumber(ARGV[2]) then
    return {0, current, previous}
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, current + 1, previous}
"""


@functools.lru_cache(maxsize=8)
def _sliding_window_script(client: Any) -> Any:
    """The script registered once per Redis client (the portal's cache keeps one per process), not per request."""
    return client.register_script(_SLIDING_WINDOW)


class _CacheTolerant(throttling.SimpleRateThrottle):
    scope: str | None
    num_requests: int | None
    duration: int | None
    _wait_seconds: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            backend = caches["default"]
            if not isinstance(backend, RedisCache):
                return super().allow_request(request, view)
            return self._allow_counted(request, view, backend=backend)
        except CACHE_ERRORS as error:
            logger.warning("rate limit %s not applied: the cache is unreachable (%s)", self.scope, error)
            return True

    def _rate_for(self, view: APIView) -> bool:
        """Whether a rate applies to `view` (set up as DRF's `allow_request` does before counting)."""
        return self.rate is not None

    def _allow_counted(self, request: Request, view: APIView, *, backend: RedisCache) -> bool:
        if not self._rate_for(view):
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        assert self.num_requests is not None and self.duration is not None  # set with the rate
        now = self.timer()
        window, into = divmod(now, self.duration)
        previous_weight = 1 - into / self.duration
        # Redis takes any key, and these are the throttle's own (scope, user id or address pseudonym, window): Django's
        # check against memcached's key rules, a loop over each character that can only warn, is left out.
        keys = [backend.make_key(f"{self.key}:{int(window) - offset}") for offset in (0, 1)]
        client = backend._cache.get_client(keys[0], write=True)
        allowed, current, previous = _sliding_window_script(client)(
            keys=keys, args=[repr(previous_weight), self.num_requests, 2 * self.duration]
        )
        if allowed:
            return True
        # Free again once the last window's weighted count has fallen enough, or at the latest when this one ends.
        needed = (previous * previous_weight + current - self.num_requests + 1) / previous if previous else 1.0
        self._wait_seconds = min(needed * self.duration, self.duration - into) if previous else self.duration - into
        return self.throttle_failure()

    def wait(self) -> float | None:
        if self._wait_seconds is not None:
            return self._wait_seconds
        return super().wait()

    def get_ident(self, request: Request) -> str:
        """Anonymous callers are counted by the address core.client_address gives, never a header they wrote."""
        return client_address(request)


class AnonRateThrottle(_CacheTolerant, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_CacheTolerant, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_CacheTolerant, throttling.ScopedRateThrottle):
    def _rate_for(self, view: APIView) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return False
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return True
