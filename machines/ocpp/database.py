"""The OCPP gateway's database work: a few worker threads, each keeping its own database connection between calls.

Channels' `database_sync_to_async` takes a connection from the pool for every call and hands it back afterwards, and
the pool's connection is health-checked (a `SELECT 1` round trip) and set up again each time: for a meter value that
costs about as much as the work itself. Here each of `MACHINES_OCPP_DB_THREADS` threads keeps the connection it took
from the pool and uses it for call after call, without a check query. A connection is replaced instead of reused when

- the server has spoken on it while it was idle (a terminated backend sends its error and closes the socket): seen
  before the call by a non-blocking look at the socket, no round trip, so the call runs on a fresh connection;
- a call failed with a database error and the connection no longer answers (Django's own check after an error);
- a call left a transaction open (never meant to happen: every service is one `transaction.atomic`);
- it has been held for `MACHINES_OCPP_DB_CONNECTION_SECONDS` (handed back to the pool, which retires old ones).

Every service still runs in its own transaction; nothing is retried here, so a call runs once or fails once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import select
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_held_since = threading.local()


def _executor_get() -> ThreadPoolExecutor:
    global _executor  # one pool per process, made on first use (after the settings are loaded)
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=settings.MACHINES_OCPP_DB_THREADS, thread_name_prefix="ocpp-db")
        return _executor


def _discard(connection: Any) -> None:
    """Closes the thread's connection for good: the pool drops a closed connection instead of handing it out again."""
    raw = connection.connection
    if raw is not None:
        try:
            raw.close()
        except Exception:  # noqa: BLE001 - it is broken already; closing is all that is left to do
            logger.debug("closing a broken database connection failed", exc_info=True)
    connection.close()


def _server_spoke(raw: Any) -> bool:
    """True when the idle connection's socket has something to read: an idle backend only writes when it goes away
    (or with a notice nobody here asked for); either way the connection is not worth the next call."""
    try:
        readable, _, _ = select.select([raw.fileno()], [], [], 0)
    except Exception:  # noqa: BLE001 - no socket left: as broken as can be
        return True
    return bool(readable)


def _before(connection: Any) -> None:
    if connection.connection is not None and _server_spoke(connection.connection):
        logger.info("database connection of %s closed by the server; taking a new one", threading.current_thread().name)
        _discard(connection)


def _after(connection: Any) -> None:
    if connection.connection is None:
        return
    if connection.in_atomic_block or not connection.autocommit:
        logger.error("an OCPP service left a transaction open; its connection is discarded")
        _discard(connection)
    elif connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            _discard(connection)
    if connection.connection is None:
        _held_since.moment = None
        return
    held_since = getattr(_held_since, "moment", None)
    if held_since is None:
        _held_since.moment = time.monotonic()
    elif time.monotonic() - held_since > settings.MACHINES_OCPP_DB_CONNECTION_SECONDS:
        connection.close()  # back to the pool, which retires connections past their lifetime
        _held_since.moment = None


def _call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    connection = connections[DEFAULT_DB_ALIAS]
    _before(connection)
    try:
        return function(*args, **kwargs)
    finally:
        _after(connection)


def in_db_thread(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`function` as a coroutine function that runs it in one of the gateway's database threads."""

    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_executor_get(), _call, function, args, kwargs)

    return run
