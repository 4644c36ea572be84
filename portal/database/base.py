"""Django's PostgreSQL backend (`ENGINE = "portal.database"`), with the pool's health check made cheap and a cursor
for statements PostgreSQL keeps prepared.

Django's pool with `CONN_HEALTH_CHECKS` checks each connection it hands out by sending an empty query to PostgreSQL
and waiting for the answer: a network round trip at the start of every request, the same as the work of a bare API
request's one query. A connection that PostgreSQL closed (a restart, `pg_terminate_backend`, an idle timeout) has
been told so on its socket (a final error message, then the end of the stream), so the socket has something to read;
a healthy connection resting in the pool has nothing to read. `pooled_connection_check` looks at the socket without
waiting, and sends the empty query only when there is something to read, or when the connection has not been checked
by a round trip for `ROUND_TRIP_CHECK_SECONDS`. A dead connection is dropped and another one is handed out, as before.
"""

from __future__ import annotations

import select
import time
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresqlOperations
from psycopg import Connection, errors
from psycopg.pq import TransactionStatus
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
