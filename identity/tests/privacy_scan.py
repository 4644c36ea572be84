"""The privacy scan of acceptance 4: personal values searched in every column of every table, in the captured log
text, and in every Redis key (name and, for plain values, content) of the cache and broker databases."""

from __future__ import annotations

import redis
from django.conf import settings

from identity.tests.test_privacy import occurrences


def redis_occurrences(needles: list[str]) -> dict[str, list[str]]:
    """Redis keys (of the cache and the broker database) whose name or string value contains one of ``needles``."""
    found: dict[str, list[str]] = {}
    for url in {settings.REDIS_URL, settings.CELERY_BROKER_URL}:
        if not url.startswith("redis://"):
            continue
        connection = redis.Redis.from_url(url)
        for key in connection.scan_iter(count=1000):
            texts = [key]
            if connection.type(key) == b"string":
                texts.append(connection.get(key) or b"")
            elif connection.type(key) == b"list":
                texts += connection.lrange(key, 0, -1)
            elif connection.type(key) == b"hash":
                texts += list(connection.hgetall(key).values())
            for needle in needles:
                if any(needle.encode("utf-8") in text for text in texts):
                    found.setdefault(key.decode("utf-8", "replace"), []).append(needle)
    return found


def personal_values_found(needles: list[str], *, log_text: str) -> dict[str, object]:
    """Where any of ``needles`` is kept: ``{"tables": ..., "log": ..., "redis": ...}`` with only the places found."""
    places: dict[str, object] = {
        "tables": occurrences(needles),
        "log": [needle for needle in needles if needle in log_text],
        "redis": redis_occurrences(needles),
    }
    return {place: hits for place, hits in places.items() if hits}
