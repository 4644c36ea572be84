"""A station connection that sends nothing for `MACHINES_OCPP_IDLE_CLOSE_SECONDS` is closed and its station marked
disconnected: the websocket server sends no pings, so a station that vanished without closing its connection would
otherwise count as connected until TCP gave up."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.routing import URLRouter

from accounts.roles import Role
from machines.models import ChargingStation
from machines.tests.factories import station_make, station_websocket_scope
from portal.routing import station_websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_station_that_went_silent_is_disconnected(make_user, settings):
    settings.MACHINES_OCPP_IDLE_CLOSE_SECONDS = 0.5
    station_id = station_make(owner=make_user(Role.DEALER)).station_id
    scope = station_websocket_scope(station_id)

    async def run() -> tuple[dict, bool]:
        communicator = ApplicationCommunicator(URLRouter(station_websocket_urlpatterns), scope)
        await communicator.send_input({"type": "websocket.connect"})
        assert (await communicator.receive_output(timeout=30))["type"] == "websocket.accept"
        boot = [2, "1", "BootNotification", {"chargePointVendor": "Test", "chargePointModel": "T-1"}]
        await communicator.send_input({"type": "websocket.receive", "text": json.dumps(boot)})
        assert json.loads((await communicator.receive_output(timeout=30))["text"])[2]["status"] == "Accepted"
        connected = await asyncio.to_thread(lambda: ChargingStation.objects.get(station_id=station_id).is_connected)
        # The station says nothing more: the gateway closes the connection (a frame the server turns into a close).
        closed = await communicator.receive_output(timeout=60)
        await communicator.send_input({"type": "websocket.disconnect", "code": 1006})
        await communicator.wait(timeout=30)
        return closed, connected

    closed, connected_before = asyncio.run(run())

    assert connected_before
    assert (closed["type"], closed.get("code")) == ("websocket.close", 1001)
    assert not ChargingStation.objects.get(station_id=station_id).is_connected
