"""The websocket endpoint `/ocpp/<station-id>`: authenticates the station, picks the OCPP version, runs the session.

Stations authenticate with HTTP Basic auth during the handshake (OCPP security profile 1): the user name is the
station id, the password the one registered for it. Unknown stations and wrong passwords are refused before the
websocket opens: with HTTP 401 and a JSON body `{"code", "detail"}` where the server supports ASGI denial responses
(uvicorn, daphne), otherwise with a plain handshake refusal (403). The version is the first subprotocol the station
offers that the gateway speaks (`ocpp2.0.1`, `ocpp1.6`); the websocket is accepted with exactly that subprotocol.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import logging
import time
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from core.runtime import memory_release
from machines.ocpp.central_system import CentralSystem16, CentralSystem201, last_seen
from machines.ocpp.database import Coalesced
from machines.ocpp.transport import ChannelsConnection
from machines.services import charging
from machines.services.registry import (
    station_auth_failure_record,
    station_auth_failures_clear_many,
    station_auth_failures_get,
    station_password_matches,
)

logger = logging.getLogger(__name__)

SUBPROTOCOLS = {"ocpp1.6": CentralSystem16, "ocpp2.0.1": CentralSystem201}
VERSIONS = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1"}
RESPONSE_TIMEOUT_SECONDS = 30
# A closed connection's session ends once the message it is handling is answered; one still running this long after
# its connection closed is cancelled.
SESSION_END_SECONDS = 5.0
# After disconnects, the memory their connections freed is handed back to the system once the wave is over: one release
# when no station has disconnected for this many seconds (a restart storm closes thousands within seconds, and a
# server this busy takes longer than that to close them all), but no later than `MEMORY_RELEASE_WAIT_MAX_SECONDS` after
# the wave's first disconnect, so stations that keep dropping off one by one cannot put it off for ever.
MEMORY_RELEASE_DELAY_SECONDS = 5.0
MEMORY_RELEASE_WAIT_MAX_SECONDS = 60.0
_memory_release_pending = False


class _Connections:
    """Station connections of this process: open now, and closed since the last full reclaim (core.runtime)."""

    open = 0
    closed_since_reclaim = 0


def _memory_release_schedule() -> None:
    """A release once a wave of disconnects is over (none for `MEMORY_RELEASE_DELAY_SECONDS`); a full reclaim
    (`core.runtime.memory_reclaim`) when the wave closed at least as many connections as are still open. Cyclic
    garbage among objects that outlived a middle collection waits for a full reclaim, whose pause grows with everything
    still alive in the oldest generation, so it runs when that is no more than what it frees: after a restart storm's
    disconnects, or when the last stations left. Waiting for the end of the wave keeps the connections still closing
    out of that walk (bench/stations.py: a reclaim 5 s after the first of 5,000 disconnects found 956 still open)."""
    global _memory_release_pending
    if _memory_release_pending:
        return
    _memory_release_pending = True

    async def release() -> None:
        global _memory_release_pending
        loop = asyncio.get_running_loop()
        began = loop.time()
        while True:
            closed = _Connections.closed_since_reclaim
            await asyncio.sleep(MEMORY_RELEASE_DELAY_SECONDS)
            quiet = _Connections.closed_since_reclaim == closed
            if quiet or loop.time() - began >= MEMORY_RELEASE_WAIT_MAX_SECONDS:
                break
        _memory_release_pending = False
        full = _Connections.closed_since_reclaim >= _Connections.open
        if full:
            _Connections.closed_since_reclaim = 0
        await loop.run_in_executor(None, functools.partial(memory_release, full=full))

    task = asyncio.get_running_loop().create_task(release())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


_background_tasks: set[asyncio.Task[None]] = set()


class _Silence:
    """Closes station connections that have sent nothing for `MACHINES_OCPP_IDLE_CLOSE_SECONDS`.

    The server's websocket implementation sends no keepalive pings (core/serving.py), so a connection whose station
    vanished without closing it (power cut, a network that dropped it) would count as connected until TCP gave up,
    hours later. A station sends at least a heartbeat every `HEARTBEAT_INTERVAL_SECONDS`; one task per process looks
    at every open connection's last frame and closes the silent ones, which marks their stations disconnected."""

    consumers: set[StationConsumer] = set()
    task: asyncio.Task[None] | None = None

    @classmethod
    def watch(cls, consumer: StationConsumer) -> None:
        cls.consumers.add(consumer)
        if cls.task is None or cls.task.done():
            cls.task = asyncio.get_running_loop().create_task(cls._sweep())

    @classmethod
    async def _sweep(cls) -> None:
        while cls.consumers:
            limit = float(settings.MACHINES_OCPP_IDLE_CLOSE_SECONDS)
            await asyncio.sleep(min(60.0, max(limit / 4, 0.05)))
            now = time.monotonic()
            for consumer in [c for c in cls.consumers if now - c.last_received > limit]:
                cls.consumers.discard(consumer)
                logger.info("station %s sent nothing for %.0f s: connection closed", consumer.station_id, limit)
                try:
                    await consumer.close(code=1001)
                except Exception:
                    logger.exception("closing the silent connection of station %s failed", consumer.station_id)


class _Ending:
    """Sessions of closed connections that have not ended yet, and the one task that cancels those still running
    `SESSION_END_SECONDS` after their connection closed.

    One timer for a wave of disconnects instead of one each: `asyncio.wait_for` made a coroutine, a future, a timer
    and their callbacks for every disconnect, about half of the 20 objects each of thousands of disconnects in flight
    kept alive, which the collector walks while they wait (core/runtime.py; bench/stations.py, 3,477 in flight)."""

    deadlines: dict[asyncio.Task[None], float] = {}
    task: asyncio.Task[None] | None = None

    @classmethod
    def watch(cls, session: asyncio.Task[None]) -> None:
        cls.deadlines[session] = time.monotonic() + SESSION_END_SECONDS
        loop = asyncio.get_running_loop()
        if cls.task is None or cls.task.done() or cls.task.get_loop() is not loop:
            cls.task = loop.create_task(cls._sweep())

    @classmethod
    async def _sweep(cls) -> None:
        while cls.deadlines:
            await asyncio.sleep(min(1.0, SESSION_END_SECONDS / 5))
            now = time.monotonic()
            for session in [session for session, deadline in cls.deadlines.items() if deadline <= now]:
                del cls.deadlines[session]
                session.cancel()


def basic_credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic ...` header, or None when absent or unreadable."""
    for name, value in headers:
        if name.lower() != b"authorization":
            continue
        scheme, _, encoded = value.decode("latin-1").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, separator, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, password) if separator else None
    return None


def station_authenticate(*, station_id: str, credentials: tuple[str, str] | None) -> str:
    """ "" when the station may connect, else the refusal code (the same for unknown ids and wrong passwords)."""
    return stations_authenticate([(station_id, credentials)])[0]


def stations_authenticate(attempts: list[tuple[str, tuple[str, str] | None]]) -> list[str]:
    """`station_authenticate` of each (station id, credentials), in order, for handshakes that arrived together: one
    cache round trip for their lockouts, one query for their stations, one for forgetting earlier failures."""
    from machines.models import ChargingStation

    failures = station_auth_failures_get(station_ids={station_id for station_id, _ in attempts})
    limit = settings.MACHINES_STATION_AUTH_FAILURE_LIMIT
    wanted = {station_id for station_id, credentials in attempts if credentials and failures.get(station_id, 0) < limit}
    stations = {
        station.station_id: station
        for station in ChargingStation.objects.filter(station_id__in=wanted, is_active=True).only(
            "pk", "station_id", "password_hash"
        )
    }
    refusals: list[str] = []
    succeeded: set[str] = set()
    for station_id, credentials in attempts:
        if credentials is None:
            refusals.append("station_credentials_missing")
        elif failures.get(station_id, 0) >= limit:  # failures of this batch count too: guesses sent at once stop
            refusals.append("station_locked_out")
        elif _password_right(stations.get(station_id), station_id=station_id, credentials=credentials):
            refusals.append("")
            succeeded.add(station_id)
        else:
            station_auth_failure_record(station_id=station_id)
            failures[station_id] = failures.get(station_id, 0) + 1
            succeeded.discard(station_id)
            refusals.append("station_authentication_failed")
    station_auth_failures_clear_many(station_ids=[station_id for station_id in succeeded if station_id in failures])
    return refusals


def _password_right(station: Any, *, station_id: str, credentials: tuple[str, str]) -> bool:
    user, password = credentials
    return station is not None and user == station_id and station_password_matches(station=station, password=password)


# Handshakes and connections of a restart storm are checked and recorded in batches (`Coalesced`): hundreds per
# database thread call and statement instead of one each. Checking passwords costs CPU (scrypt in production) rather
# than waiting, so a batch of them is kept small enough for its answers to come back steadily.
_handshakes = Coalesced(stations_authenticate, size=100, parallel=2)
_connections: Coalesced[tuple[str, str, str], None] = Coalesced(
    lambda connections: charging.stations_connected_record(connections=connections), size=500, parallel=1
)


_disconnections: Coalesced[tuple[str, str], None] = Coalesced(
    lambda disconnections: charging.stations_disconnected_record(disconnections=disconnections), size=500, parallel=1
)


class StationConsumer(AsyncWebsocketConsumer):
    """One charging station's websocket; the `ocpp` library's ChargePoint runs on it as a task.

    Two things Channels does for every consumer are left out, because a station's connection lives for days and
    carries a frame every few seconds: a channel on the channel layer (nothing addresses a station through it; each
    connection would keep a channel name, a waiting receive task and a receive buffer), and the closing of the
    event loop thread's database connections before every frame (a hop to Django's one synchronous thread per frame;
    this consumer never touches the database there: its work runs through `in_thread`, in the gateway's database
    threads, `machines.ocpp.database`).
    """

    channel_layer_alias = ""  # no layer under this name: `self.channel_layer` is None

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' own, without its hop to Django's synchronous thread to close that thread's database connections
        (this consumer never uses them) and without channel groups (it joins none): when thousands of stations leave
        at once, each hop queued behind the others on that one thread."""
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.station_id = self.scope["url_route"]["kwargs"]["station_id"]
        self.connection_id = uuid.uuid4().hex
        self.run_task: asyncio.Task[None] | None = None
        offered = list(self.scope.get("subprotocols") or [])
        subprotocol = next((name for name in offered if name in SUBPROTOCOLS), None)
        if subprotocol is None:
            await self._deny(400, "ocpp_subprotocol_missing", "Offer the subprotocol ocpp1.6 or ocpp2.0.1.")
            return
        credentials = basic_credentials(self.scope.get("headers") or [])
        refusal = await _handshakes((self.station_id, credentials))
        if refusal == "station_locked_out":
            logger.warning("station %s locked out after repeated failed handshakes", self.station_id)
            await self._deny(429, refusal, "Too many failed handshakes for this station; try again later.")
            return
        if refusal:
            logger.info("station %s refused: %s", self.station_id, refusal)
            await self._deny(401, refusal, "Unknown station or wrong password (HTTP Basic auth, security profile 1).")
            return
        await self.accept(subprotocol=subprotocol)
        _Connections.open += 1
        self.last_received = time.monotonic()
        _Silence.watch(self)
        await _connections((self.station_id, self.connection_id, VERSIONS[subprotocol]))
        self.connection = ChannelsConnection(self._send_text)
        central_system = SUBPROTOCOLS[subprotocol](self.station_id, self.connection, RESPONSE_TIMEOUT_SECONDS)
        self.run_task = asyncio.create_task(self._run(central_system))

    async def _deny(self, status: int, code: str, detail: str) -> None:
        self.denied = True
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            await self.close()
            return
        body = json.dumps({"code": code, "detail": detail}).encode("utf-8")
        # No content-type or content-length: the server's websocket implementation writes both for a refused
        # handshake (uvicorn's Sans-I/O one does, core/serving.py), and a second copy makes the response unreadable.
        headers: list[tuple[bytes, bytes]] = []
        if status == 401:
            headers.append((b"www-authenticate", b'Basic realm="ocpp", charset="UTF-8"'))
        await self.base_send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await self.base_send({"type": "websocket.http.response.body", "body": body})

    async def _run(self, central_system: CentralSystem16 | CentralSystem201) -> None:
        try:
            await central_system.start()
        except ConnectionClosed:
            pass
        except Exception:
            logger.exception("OCPP session of station %s failed", self.station_id)
            await self.close(code=1011)

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.run_task is None:
            return
        self.last_received = time.monotonic()
        if text_data is None:
            text_data = (bytes_data or b"").decode("utf-8", errors="replace")
        self.connection.feed(text_data)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "run_task", None) is None:
            return
        self.connection.close()
        if not self.run_task.done():
            _Ending.watch(self.run_task)
            try:
                await self.run_task
            except asyncio.CancelledError:  # ran too long (`_Ending`), or this consumer was cancelled: so is it
                self.run_task.cancel()
            finally:
                _Ending.deadlines.pop(self.run_task, None)
        try:
            await last_seen.flush()
        except Exception:
            logger.exception("writing the stations' last-seen moments failed")
        await _disconnections((self.station_id, self.connection_id))
        # The connection's objects outlived collections and are in the oldest generation, which only a reclaim walks
        # (core.runtime): reference counting frees them once these cycles (consumer -> transport -> the consumer's
        # send; consumer -> task) are broken.
        self.run_task = None
        del self.connection
        _Silence.consumers.discard(self)
        _Connections.open -= 1
        _Connections.closed_since_reclaim += 1
        _memory_release_schedule()
