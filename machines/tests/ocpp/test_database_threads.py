"""The gateway's database threads (machines.ocpp.database): they keep a connection while calls keep coming and hand
it back to the pool once idle, so a process that opens and closes many station connections never drains its pool."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import time

import pytest
from asgiref.testing import ApplicationCommunicator
from channels import db as channels_db
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


class _Socket:
    """A raw connection's stand-in: what `_server_spoke` looks at is its socket number."""

    def __init__(self, number: int) -> None:
        self.number = number

    def fileno(self) -> int:
        return self.number


def test_a_quiet_connection_is_kept_even_with_socket_numbers_beyond_select_s_limit():
    """A gateway with a thousand stations connected has database sockets numbered above 1024; a quiet one is still
    quiet there (it was taken for closed by the server and replaced before every call), and one the server spoke on
    is still noticed."""
    here, server = socket.socketpair()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    high = 1500
    if limit[1] != resource.RLIM_INFINITY and limit[1] <= high:
        pytest.skip("this process may not open a socket numbered above 1024")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(limit[0], high + 1), limit[1]))
    try:
        os.dup2(here.fileno(), high)
        quiet = database._server_spoke(_Socket(high))
        server.sendall(b"E")  # what a terminated backend sends before it closes
        spoken = database._server_spoke(_Socket(high))
    finally:
        os.close(high)
        here.close()
        server.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, limit)

    assert (quiet, spoken) == (False, True)


def test_a_station_leaving_makes_no_hop_to_django_s_synchronous_thread(make_user, monkeypatch):
    """Channels closes the synchronous thread's database connections when a websocket closes, one hop to that one
    thread per connection; the gateway never uses them, and thousands of stations leaving at once queued there."""
    hops: list[str] = []
    monkeypatch.setattr(channels_db, "close_old_connections", lambda: hops.append("close_old_connections"))
    station = station_make(owner=make_user(Role.DEALER))

    answer = asyncio.run(_station_session(URLRouter(station_websocket_urlpatterns), station.station_id))

    assert answer[2]["status"] == "Accepted"
    assert hops == []
    assert ChargingStation.objects.get(pk=station.pk).is_connected is False
