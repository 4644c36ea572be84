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
