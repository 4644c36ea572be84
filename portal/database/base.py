"""Django's PostgreSQL backend (`ENGINE = "portal.database"`), with the pool's health check made cheap and a cursor
for statements PostgreSQL keeps prepared.

Django's pool with `CONN_HEALTH_CHECKS` checks each connection it hands out by sending an empty query to PostgreSQL
and waiting for the answer: a network round trip at the start of every request, the same as the work of a bare API
request's one query. A connection that PostgreSQL closed (a restart, `pg_terminate_backend`, an idle timeout) has
been told so on its socket (a final error message, then the end of the stream), so the socket has something to read;
a healthy connection resting in the pool has nothing to read. `pooled_connection_check` looks at the socket without
waiting, and sends the empty query only when there is something to read, or when the connection has not been checked
by a round trip for `ROUND_TRIP_CHECK_SECONDS`. A dead connection is dropped and another one is handed out, as before.

psycopg's list dumpers and array loaders keep the statement's transformer, which keeps them in its cache, and its list
dumpers dump through a recursive inner function that refers to itself: every statement with a list among its values
(the charging batches' `unnest` arrays, the ledger's statements) or an array in its result left a reference cycle of
about 40 objects (the statement's transformer, its dumpers, loaders and their caches) that only the garbage collector
frees. In a server process a statement that outlived two young collections (0.2 s, core/runtime.py) left its cycle
for the full reclaim: 38,049 such objects from 990 statements in a 600 s run of 5,000 stations, 77 to 95 ms of the
reclaim's pause (bench/stations.py). The connections' adapters (`_acyclic_adapters`) look their items' adapters up
through a transformer of their own and dump a flat list with a loop, so reference counting frees a statement's
objects as soon as its cursor goes.
"""

from __future__ import annotations

import functools
import select
import time
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresqlOperations
from psycopg import Connection, errors
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import AdaptersMap, Loader, Transformer
from psycopg.pq import TransactionStatus
from psycopg.types.array import (  # psycopg 3.2's own helpers, pinned in requirements/lock.txt
    ARRAY_NULL,
    TEXT_OID,
    ArrayLoader,
    ListBinaryDumper,
    ListDumper,
    _get_needs_quotes_regexp,
    _pack_dim,
    _pack_head,
    pack_len,
)
from psycopg_pool import ConnectionPool

# A connection is checked by a round trip at least this often (seconds), whatever its socket says.
ROUND_TRIP_CHECK_SECONDS = 30.0


def pooled_connection_check(connection: Connection[Any]) -> None:
    """Raises like `ConnectionPool.check_connection` for a connection that is no longer usable; sends nothing when
    the socket shows the connection idle and it passed a round-trip check less than `ROUND_TRIP_CHECK_SECONDS` ago."""
    now = time.monotonic()
    checked_at = getattr(connection, "_portal_round_trip_checked_at", None)
    if checked_at is not None and now - checked_at < ROUND_TRIP_CHECK_SECONDS and _socket_is_quiet(connection):
        return
    ConnectionPool.check_connection(connection)
    connection._portal_round_trip_checked_at = now  # type: ignore[attr-defined]


def _socket_is_quiet(connection: Connection[Any]) -> bool:
    """Whether the connection is open, outside a transaction, and nothing has arrived on its socket."""
    if connection.closed or connection.broken or connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        poll = select.poll()
        poll.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        return not poll.poll(0)
    except (OSError, ValueError, AttributeError):  # no poll() here, or no socket any more: let the round trip decide
        return False


class PreparingCursor(base.ServerBindingCursor):
    """A cursor that binds values on the server and has PostgreSQL prepare each statement on its connection the first
    time (psycopg keeps the names per connection, the most recent 100), so a repeated statement is neither parsed nor
    planned again. Django's own cursors bind on the client and never prepare (`prepare_threshold` None), which keeps
    every other statement as it was."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)


class _OwnTransformer:
    """An adapter that looks its items' adapters up through a transformer of its own rather than through the
    statement's, which caches the adapter: no reference cycle between the two (see the module's description)."""

    _tx: Transformer

    def __init__(self, adapted: Any, context: AdaptContext | None = None) -> None:
        """`adapted`: a dumper's Python class or a loader's type oid, as psycopg's adapters take them."""
        super().__init__(adapted, context)  # type: ignore[call-arg] - the adapter class this is mixed into takes them
        self._tx = Transformer(context)


class _AcyclicListDumper(_OwnTransformer, ListDumper):
    """psycopg's list dumper (text format) without its reference cycles (see the module's description): the items'
    dumpers come from a transformer of its own rather than from the statement's (which caches this dumper), and a flat
    list is dumped by a loop rather than by psycopg's recursive inner function (a function that refers to itself). A
    nested list is left to psycopg. The same bytes as psycopg's (portal/tests/test_database_adapters.py compares them)."""

    def dump(self, obj: list[Any]) -> Buffer | None:
        if not obj or any(isinstance(item, list) for item in obj):
            return super().dump(obj)
        needs_quotes = _get_needs_quotes_regexp(self.delimiter).search
        tokens: list[Buffer] = [b"{"]
        for item in obj:
            dumped = None if item is None else self._dump_item(item)
            if dumped is None:
                tokens.append(b"NULL")
            elif needs_quotes(dumped):
                tokens.append(b'"' + self._re_esc.sub(rb"\\\1", bytes(dumped)) + b'"')
            else:
                tokens.append(dumped)
            tokens.append(self.delimiter)
        tokens[-1] = b"}"
        return b"".join(tokens)


class _AcyclicListBinaryDumper(_OwnTransformer, ListBinaryDumper):
    """The binary form of `_AcyclicListDumper`: a flat list dumped by a loop, an empty or nested one by psycopg."""

    def dump(self, obj: list[Any]) -> Buffer | None:
        if not obj or isinstance(obj[0], self.cls):
            return super().dump(obj)
        sub_dumper = self.sub_dumper
        data: list[Buffer] = [b"", b""]
        has_null = 0
        for item in obj:
            dumped = None if item is None else sub_dumper.dump(item)  # type: ignore[union-attr] - set by `upgrade`
            if dumped is None:
                has_null = 1
                data.append(ARRAY_NULL)
            else:
                data.append(pack_len(len(dumped)))
                data.append(dumped)
        data[0] = _pack_head(1, has_null, (sub_dumper.oid if sub_dumper else 0) or TEXT_OID)
        data[1] = _pack_dim(len(obj), 1)
        return b"".join(data)


class _AcyclicArrayLoader(_OwnTransformer, ArrayLoader):
    """psycopg's array loader (text format, the one Django's cursors ask for) with a transformer of its own (see the
    module's description). psycopg's Python implementation, the same values as its C one."""


@functools.cache
def _acyclic_array_loader(name: str, base_oid: int, delimiter: str) -> type[Loader]:
    return type(
        f"Acyclic{name.title()}ArrayLoader",
        (_AcyclicArrayLoader,),
        {"base_oid": base_oid, "delimiter": delimiter.encode()},
    )


@functools.cache
def _acyclic_adapters(template: AdaptersMap) -> AdaptersMap:
    """`template` (Django's adapters for the connection, made once per time zone) with the acyclic list dumpers and
    array loaders."""
    adapters = AdaptersMap(template)
    # Registered in psycopg's order (psycopg.types.array.register_default_adapters): the text dumper last, so that a
    # list dumps as text unless the statement asks for binary (`%b`).
    adapters.register_dumper(list, _AcyclicListBinaryDumper)
    adapters.register_dumper(list, _AcyclicListDumper)
    for info in adapters.types:
        if info.array_oid:
            adapters.register_loader(info.array_oid, _acyclic_array_loader(info.name, info.oid, info.delimiter))
    return adapters


class DatabaseOperations(PostgresqlOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        """A prepared statement is logged (and counted by tests) with its values in place, as every other statement
        is, rather than with PostgreSQL's `$1` placeholders."""
        if isinstance(cursor, PreparingCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL connection, whose pool (with `CONN_HEALTH_CHECKS`) checks connections with
    `pooled_connection_check` instead of a round trip each time, and which offers `prepared_cursor`."""

    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        """Django turns psycopg's prepared statements off (`prepare_threshold` None, for poolers in transaction mode,
        which the portal does not use); they are turned on again, with psycopg's default, unless OPTIONS name one.
        Django's own cursors bind on the client and are never prepared either way: only `PreparingCursor` prepares."""
        params = super().get_connection_params()
        params["context"] = _acyclic_adapters(params["context"])
        if "prepare_threshold" not in self.settings_dict["OPTIONS"]:
            params["prepare_threshold"] = 5
        return params

    def prepared_cursor(self) -> Any:
        """A cursor like `cursor()` (wrapped by Django: errors, logging, counted queries) whose statements are prepared:
        for the few fixed statements of hot paths (core.sql.prepared_cursor)."""
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(PreparingCursor(self.connection))

    @property
    def pool(self) -> Any:
        pool = super().pool
        # psycopg_pool keeps the check it was given in `_check` (psycopg-pool 3.2, pinned in requirements/lock.txt;
        # portal/tests/test_database_pool.py fails if that changes).
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = pooled_connection_check
        return pool
