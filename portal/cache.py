"""The Redis cache with one client, and so one connection pool, per process.

Django's `RedisCache` builds its client (and the client its connection pool) per cache object, and under ASGI there
is a cache object per request, so each request would open Redis connections of its own and leave them behind. The
client is thread-safe; sharing it per process keeps a handful of connections open across requests.

Django's cache client also makes a new `redis.Redis` for every cache call (its constructor fills a table of ~160
reply handlers: about a tenth of a bare API request's time, spent on the rate limit's one call). `redis.Redis` is
thread-safe and holds nothing but its pool, so one per pool serves every call.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class PooledRedisCacheClient(RedisCacheClient):
    """Django's client, with one `redis.Redis` per connection pool instead of one per call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_clients: dict[int, Any] = {}
        self._redis_clients_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._redis_clients.get(id(pool))
        if client is None:
            with self._redis_clients_lock:
                client = self._redis_clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedRedisCache(RedisCache):
    _clients: ClassVar[dict[tuple[str, ...], RedisCacheClient]] = {}
    _clients_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = PooledRedisCacheClient

    @property
    def _cache(self) -> RedisCacheClient:  # type: ignore[override]
        key = (*self._servers, repr(sorted(self._options.items())))
        client = self._clients.get(key)
        if client is None:
            with self._clients_lock:
                client = self._clients.setdefault(key, self._class(self._servers, **self._options))
        return client
