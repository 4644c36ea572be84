"""The pool checks a connection it hands out by its socket, and by a round trip only when the socket is not quiet."""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from portal.database import base as database

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    sent: list[object] = []
    real = ConnectionPool.check_connection

    def counted(conn: psycopg.Connection) -> None:
        sent.append(conn)
        real(conn)

    monkeypatch.setattr(database.ConnectionPool, "check_connection", staticmethod(counted))
    return sent


def _terminate(raw: psycopg.Connection) -> None:
    """Ends `raw`'s backend from another connection and waits until the end of the stream reached its socket."""
    pid = raw.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    poll = select.poll()
    poll.register(raw.fileno(), select.POLLIN)
    deadline = time.monotonic() + 30
    while not poll.poll(100) and time.monotonic() < deadline:
        pass


def test_the_pool_uses_the_portal_check() -> None:
    assert connection.settings_dict["ENGINE"] == "portal.database"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.pool._check is database.pooled_connection_check


def test_a_quiet_connection_checked_a_moment_ago_costs_no_round_trip(raw_connection, round_trips) -> None:
    database.pooled_connection_check(raw_connection)
    database.pooled_connection_check(raw_connection)
    database.pooled_connection_check(raw_connection)

    assert round_trips == [raw_connection]


def test_a_connection_is_checked_by_a_round_trip_again_after_the_interval(
    raw_connection, round_trips, monkeypatch
) -> None:
    database.pooled_connection_check(raw_connection)
    monkeypatch.setattr(database, "ROUND_TRIP_CHECK_SECONDS", 0.0)
    database.pooled_connection_check(raw_connection)

    assert round_trips == [raw_connection, raw_connection]


def test_a_connection_inside_a_transaction_is_checked_by_a_round_trip(raw_connection, round_trips) -> None:
    database.pooled_connection_check(raw_connection)
    raw_connection.autocommit = False
    raw_connection.execute("SELECT 1")

    with pytest.raises(psycopg.Error):  # the round trip's own refusal: it does not check a connection in a transaction
        database.pooled_connection_check(raw_connection)
    raw_connection.rollback()
    assert [sent for sent in round_trips if sent is raw_connection] == [raw_connection, raw_connection]


def test_a_connection_the_server_closed_fails_the_check(raw_connection, round_trips) -> None:
    database.pooled_connection_check(raw_connection)
    _terminate(raw_connection)

    with pytest.raises(psycopg.OperationalError):
        database.pooled_connection_check(raw_connection)
    assert [sent for sent in round_trips if sent is raw_connection] == [raw_connection, raw_connection]


def test_the_pool_hands_out_a_working_connection_after_the_server_closed_one() -> None:
    pool = connection.pool
    connection.close()
    pooled = pool.getconn()
    backend = pooled.info.backend_pid
    pool.putconn(pooled)
    pool.check()  # every connection resting in the pool has passed a round trip
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (in_use,) = cursor.fetchone()
    connection.close()
    for conn in list(pool._pool):
        if conn.info.backend_pid == in_use:
            _terminate(conn)

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert backend  # the pool had a connection to hand out
