"""The Redis cache with one client, and so one connection pool, per process.

Django's `RedisCache` builds its client (and the client its connection pool) per cache object, and under ASGI there
is a cache object per request, so each request would open Redis connections of its own and leave them behind. The
client is thread-safe; sharing it per process keeps a handful of connections open across requests.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class SharedRedisCache(RedisCache):
    _clients: ClassVar[dict[tuple[str, ...], RedisCacheClient]] = {}
    _clients_lock: ClassVar[threading.Lock] = threading.Lock()

    @property
    def _cache(self) -> RedisCacheClient:  # type: ignore[override]
        key = (*self._servers, repr(sorted(self._options.items())))
        client = self._clients.get(key)
        if client is None:
            with self._clients_lock:
                client = self._clients.setdefault(key, self._class(self._servers, **self._options))
        return client
