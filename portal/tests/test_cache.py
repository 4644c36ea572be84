import threading

from django.core.cache import caches


def test_every_thread_shares_one_redis_client_and_its_connection_pool():
    """Django builds a cache object per thread (and per request under ASGI); the Redis client behind it is shared."""
    clients = []

    def use_the_cache() -> None:
        cache = caches["default"]
        cache.set("shared-client-probe", 1, 5)
        clients.append(cache._cache)

    threads = [threading.Thread(target=use_the_cache) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(clients) == 4 and len({id(client) for client in clients}) == 1
    assert caches["default"]._cache is clients[0]


def test_every_cache_call_uses_one_redis_client_per_connection_pool():
    """Django's client makes a `redis.Redis` per call; the portal's keeps one per pool, which works after a restart of
    the pool's connections as before."""
    cache = caches["default"]
    cache.set("one-client-probe", 1, 5)

    first = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is first
    assert cache._cache.get_client() is first  # one server: reads and writes share the pool
    first.connection_pool.disconnect()
    assert cache.get("one-client-probe") == 1
