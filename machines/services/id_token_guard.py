"""Throttling of id-token answers: refused Authorize/StartTransaction answers are counted per station and per
operator, and past a limit every answer to that station (or every station of that operator) is a refusal until the
lockout period ends.

A station guessing tags learns nothing more after `MACHINES_AUTHORIZE_FAILURE_LIMIT_STATION` refusals, and an operator
spreading guesses over many stations nothing more after `MACHINES_AUTHORIZE_FAILURE_LIMIT_OPERATOR`. The counters live
in the shared cache (Redis), like the handshake lockout of `registry.station_is_locked_out`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def _station_key(station_pk: int) -> str:
    return f"machines:authorize-refusals:station:{station_pk}"


def _operator_key(operator_pk: int) -> str:
    return f"machines:authorize-refusals:operator:{operator_pk}"


def id_token_answers_locked(*, station_pk: int, operator_pk: int) -> bool:
    """True while the station or its operator is over its limit of refused answers."""
    counts = cache.get_many([_station_key(station_pk), _operator_key(operator_pk)])
    return (counts.get(_station_key(station_pk)) or 0) >= settings.MACHINES_AUTHORIZE_FAILURE_LIMIT_STATION or (
        counts.get(_operator_key(operator_pk)) or 0
    ) >= settings.MACHINES_AUTHORIZE_FAILURE_LIMIT_OPERATOR


def _increment(key: str) -> None:
    timeout = settings.MACHINES_AUTHORIZE_LOCKOUT_SECONDS
    cache.add(key, 0, timeout=timeout)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)


def id_token_refusal_record(*, station_pk: int, operator_pk: int) -> None:
    """Counts one refused answer against the station and its operator (the window starts at the first refusal)."""
    _increment(_station_key(station_pk))
    _increment(_operator_key(operator_pk))
