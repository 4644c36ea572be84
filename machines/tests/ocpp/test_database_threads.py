"""The gateway's database threads (machines.ocpp.database): they keep a connection while calls keep coming and hand
it back to the pool once idle, so a process that opens and closes many station connections never drains its pool."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.routing import URLRouter
from django.db import connection, connections

from accounts.roles import Role
from machines.models import ChargingStation
from machines.ocpp import database
from machines.tests.factories import station_make, station_websocket_scope
from portal.routing import station_websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)
STATIONS = 24


def _checked_out() -> int:
    """Connections of the process's pool that are handed out now."""
    stats = connections["default"].pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


async def _station_session(application: URLRouter, station_id: str) -> dict:
    scope = station_websocket_scope(station_id)
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "websocket.connect"})
    accepted = await communicator.receive_output(timeout=30)
    assert (accepted["type"], accepted.get("subprotocol")) == ("websocket.accept", "ocpp1.6")
    boot = {"chargePointVendor": "Test", "chargePointModel": "T-1"}
    await communicator.send_input({"type": "websocket.receive", "text": json.dumps([2, "1", "BootNotification", boot])})
    answer = json.loads((await communicator.receive_output(timeout=30))["text"])
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(timeout=30)
    return answer


def test_many_station_connections_in_one_process_leave_the_pool_as_it_was(make_user, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's")
    settings.MACHINES_OCPP_DB_IDLE_SECONDS = 0.2
    owner = make_user(Role.DEALER)
    station_ids = [station_make(owner=owner).station_id for _ in range(STATIONS)]
    application = URLRouter(station_websocket_urlpatterns)
    before = _checked_out()

    async def run() -> list[dict]:
        answers = []
        for _ in range(3):  # connections opened and closed again and again, some at once
            answers += await asyncio.gather(*(_station_session(application, sid) for sid in station_ids))
        return answers

    answers = asyncio.run(run())
    busy = _checked_out()
    deadline = time.monotonic() + 10
    while _checked_out() > before and time.monotonic() < deadline:
        time.sleep(0.05)

    assert [answer[2]["status"] for answer in answers] == ["Accepted"] * (3 * STATIONS)
    assert busy - before <= settings.MACHINES_OCPP_DB_THREADS
    assert _checked_out() == before  # every thread handed its connection back
    assert ChargingStation.objects.filter(station_id__in=station_ids, is_connected=True).count() == 0


def test_a_call_that_fails_reaches_its_caller_and_the_thread_goes_on(settings):
    settings.MACHINES_OCPP_DB_IDLE_SECONDS = 0.2

    def refuse() -> None:
        raise ValueError("refused")

    def count() -> int:
        return ChargingStation.objects.count()

    async def run() -> int:
        with pytest.raises(ValueError, match="refused"):
            await database.in_db_thread(refuse)()
        return await database.in_db_thread(count)()

    assert asyncio.run(run()) == 0


class _RawConnection:
    """Stands for a psycopg connection: only its socket number is looked at."""

    def __init__(self, fileno: int) -> None:
        self._fileno = fileno

    def fileno(self) -> int:
        return self._fileno


@pytest.mark.django_db(transaction=False)
def test_a_quiet_connection_is_kept_even_when_its_socket_number_is_above_1024():
    """With a thousand stations connected, database sockets get numbers above `select`'s limit; a quiet connection
    is still kept and one the server wrote to is still replaced."""
    import os
    import resource
    import socket

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft <= 1500:
        pytest.skip("the process may not open a descriptor numbered 1500")
    ours, server = socket.socketpair()
    high = os.dup2(ours.fileno(), 1500)
    try:
        assert database._server_spoke(_RawConnection(high)) is False
        server.send(b"E")  # what a terminated backend does: its last message, then the end of the stream
        assert database._server_spoke(_RawConnection(high)) is True
    finally:
        os.close(high)
        ours.close()
        server.close()
