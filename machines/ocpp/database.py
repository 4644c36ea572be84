"""The OCPP gateway's database work: a few worker threads that keep their database connection while there is work.

Channels' `database_sync_to_async` takes a connection from the pool for every call and hands it back afterwards, so
every meter value paid for setting a connection up (and, with health checks, for a check query) as much as for its
own statements. Here each of `MACHINES_OCPP_DB_THREADS` threads keeps the connection it took for call after call,
without a check query, as long as calls keep coming, and hands it back to the pool once it has had nothing to do for
`MACHINES_OCPP_DB_IDLE_SECONDS`: a busy gateway holds at most that many connections, an idle one (or a test process
between tests) none. A connection is replaced instead of reused when

- the server has spoken on it while it was idle (a terminated backend sends its error and closes the socket): seen
  before the call by a non-blocking look at the socket, no round trip, so the call runs on a fresh connection;
- a call failed with a database error and the connection no longer answers (Django's own check after an error);
- a call left a transaction open (never meant to happen: every service is one `transaction.atomic`);
- it has been held for `MACHINES_OCPP_DB_CONNECTION_SECONDS` (handed back to the pool, which retires old ones).

Every service still runs in its own transaction; nothing is retried here, so a call runs once or fails once. On
SQLite (`make run`) the same threads keep their own SQLite connections the same way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import select
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

_Call = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class _Workers:
    """`MACHINES_OCPP_DB_THREADS` daemon threads taking calls from one queue, started on first use."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def submit(self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[Any]:
        if not self._threads:
            self._start()
        future: Future[Any] = Future()
        self._calls.put((future, function, args, kwargs))
        return future

    def _start(self) -> None:
        with self._lock:
            while len(self._threads) < settings.MACHINES_OCPP_DB_THREADS:
                thread = threading.Thread(target=self._work, name=f"ocpp-db-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        held_since: float | None = None
        while True:
            try:
                future, function, args, kwargs = self._calls.get(timeout=settings.MACHINES_OCPP_DB_IDLE_SECONDS)
            except queue.Empty:
                if connection.connection is not None:
                    connection.close()  # nothing to do: back to the pool
                held_since = None
                continue
            if not future.set_running_or_notify_cancel():
                continue
            _before(connection)
            try:
                result = function(*args, **kwargs)
            except BaseException as error:  # noqa: BLE001 - handed to the caller, who raises it
                _after(connection)
                future.set_exception(error)
            else:
                _after(connection)
                future.set_result(result)
            finally:
                del future, function, args, kwargs
            if connection.connection is None:
                held_since = None
            elif held_since is None:
                held_since = time.monotonic()
            elif time.monotonic() - held_since > settings.MACHINES_OCPP_DB_CONNECTION_SECONDS:
                connection.close()  # back to the pool, which retires connections past their lifetime
                held_since = None


_workers = _Workers()


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
    (or with a notice nobody here asked for); either way the connection is not worth the next call.

    `poll`, not `select`: a gateway with a thousand stations connected has socket numbers above `select`'s limit
    (1,024), where `select` raises, and every call would then have replaced a healthy connection with a new one."""
    fileno = getattr(raw, "fileno", None)
    if fileno is None:  # SQLite: no socket, nothing to look at
        return False
    try:
        poll = select.poll()
        poll.register(fileno(), select.POLLIN | select.POLLPRI)
        return bool(poll.poll(0))
    except Exception:  # noqa: BLE001 - no socket left: as broken as can be
        return True


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


def in_db_thread(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`function` as a coroutine function that runs it in one of the gateway's database threads."""

    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.wrap_future(_workers.submit(function, args, kwargs))

    return run


Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalesced(Generic[Item, Result]):
    """Calls of one kind that arrive together, done in one call of `write(items) -> results` in a database thread.

    A restart storm brings thousands of handshakes and BootNotifications within seconds: one thread call, one
    statement and one commit each would queue them behind each other on the few database threads. Here a call joins
    the pending batch; at most `parallel` batches run at a time, and calls arriving meanwhile wait for the next batch
    (at most `size` items). A lone call waits for nothing: its batch starts at the event loop's next turn. Every item
    gets its own result, in order (None for each when `write` returns None: a write with nothing to answer); an
    exception of the batch's call reaches every caller of that batch.
    """

    def __init__(
        self, write: Callable[[list[Item]], list[Result] | None], *, size: int = 500, parallel: int = 2
    ) -> None:
        self._write = in_db_thread(write)
        self._size = size
        self._parallel = parallel
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._batches: set[asyncio.Task[None]] = set()

    async def __call__(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, future))
        self._batches = {task for task in self._batches if not task.done() and task.get_loop() is loop}
        if len(self._batches) < self._parallel:
            self._batches.add(loop.create_task(self._drain()))
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._size], self._pending[self._size :]
            waiting = [(item, future) for item, future in batch if not future.done()]  # not those given up
            if not waiting:
                continue
            try:
                results = await self._write([item for item, _ in waiting])
                if results is None:
                    results = [None] * len(waiting)
            except Exception as error:  # noqa: BLE001 - handed to every caller of the batch, who raises it
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(error)
            else:
                for (_, future), result in zip(waiting, results, strict=True):
                    if not future.done():
                        future.set_result(result)
