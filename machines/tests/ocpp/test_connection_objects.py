"""What a station connection keeps in the server process, and that it is all freed when the station leaves.

The server leaves whatever outlives a middle collection to a rare full reclaim (core.runtime), so a closed
connection's objects must be freed by reference counting: no reference cycle may keep them.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
from ocpp.charge_point import camel_to_snake_case, create_route_map, snake_to_camel_case

from machines.ocpp import consumer as consumer_module
from machines.ocpp.central_system import CentralSystem16, CentralSystem201, _camel_case, _snake_case
from machines.ocpp.consumer import StationConsumer
from machines.ocpp.transport import ChannelsConnection


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


class _Sent:
    def __init__(self) -> None:
        self.frames: list[str] = []

    async def send(self, frame: str) -> None:
        self.frames.append(frame)


@pytest.mark.parametrize("central_system", [CentralSystem16, CentralSystem201])
def test_the_route_map_is_the_classs_and_routes_what_the_librarys_would(central_system):
    library_map = create_route_map(central_system("S-1", _Sent(), 30))

    assert {action: handler.__func__ for action, handler in ((a, r["_on_action"]) for a, r in library_map.items())} == {
        action: handler for action, (handler, _) in central_system._routes.items()
    }
    assert all(validated for _, validated in central_system._routes.values())
    assert "route_map" not in vars(central_system("S-2", _Sent(), 30))  # nothing per connection


def test_payload_keys_are_converted_as_the_library_converts_them():
    payload = {
        "chargePointVendor": "V",
        "meterValue": [{"timestamp": "t", "sampledValue": [{"value": "1", "measurand": "Energy.Active.Import"}]}],
        "evse": {"id": 1, "connectorId": 2},
        "customData": {"vendorId": "x", "ocppCSMSURL": "u", "stateOfCharge": 3, "V2XChargingCtrlr": 1},
    }
    answer = {"id_tag_info": {"status": "Accepted", "parent_id_tag": "p"}, "ocpp_csms_url": "u", "soc_limit": 1}

    assert _snake_case(payload) == camel_to_snake_case(payload)
    assert _camel_case(answer) == snake_to_camel_case(answer)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_heartbeat_and_a_frame_for_no_handler_are_answered_as_before(version):
    central_system = (CentralSystem16 if version == "1.6" else CentralSystem201)("S-3", _Sent(), 30)
    central_system._heartbeat_record = _nothing  # type: ignore[method-assign]

    async def run() -> list[str]:
        await central_system.route_message('[2,"1","Heartbeat",{}]')
        await central_system.route_message('[2,"2","Heartbeat",{"unexpected":1}]')
        await central_system.route_message('[2,"3","DataTransfer",{"vendorId":"v"}]')
        return central_system._connection.frames

    answered, refused, not_handled = asyncio.run(run())

    assert answered.startswith('[3,"1",{"currentTime":"')
    violation = "FormationViolation" if version == "1.6" else "FormatViolation"
    assert refused.startswith(f'[4,"2","{violation}"')
    assert not_handled.startswith('[4,"3","NotImplemented"')


@pytest.mark.parametrize("central_system", [CentralSystem16, CentralSystem201])
def test_a_frame_is_read_once_and_answers_to_the_gateways_calls_reach_their_queue(central_system, monkeypatch):
    import ocpp.charge_point

    def read_again(raw: str) -> None:
        raise AssertionError(f"frame read a second time: {raw}")

    monkeypatch.setattr(ocpp.charge_point, "unpack", read_again)  # the library's route_message reads with it
    station = central_system("S-4", _Sent(), 30)
    station._heartbeat_record = _nothing  # type: ignore[method-assign]

    async def run() -> tuple[list[str], list[Any]]:
        await station.route_message('[2,"1","Heartbeat",{}]')
        await station.route_message('[3,"9",{"status":"Accepted"}]')
        await station.route_message('[4,"10","NotSupported","",{}]')
        return station._connection.frames, [station._response_queue.get_nowait() for _ in range(2)]

    frames, answers = asyncio.run(run())

    assert len(frames) == 1 and frames[0].startswith('[3,"1",{"currentTime":"')
    assert [(answer.message_type_id, answer.unique_id) for answer in answers] == [(3, "9"), (4, "10")]


async def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def test_a_closed_connection_is_freed_without_a_collection(collector_off, monkeypatch):
    monkeypatch.setattr(consumer_module._Connections, "open", 1)
    monkeypatch.setattr(consumer_module._Connections, "closed_since_reclaim", 0)
    monkeypatch.setattr(consumer_module, "_disconnections", _nothing)
    monkeypatch.setattr(consumer_module, "_memory_release_schedule", lambda: None)

    async def run() -> list[weakref.ref[Any]]:
        station = StationConsumer()
        station.station_id, station.connection_id = "S-4", "c-1"
        station.connection = ChannelsConnection(station._send_text)
        central_system = CentralSystem16(station.station_id, station.connection, 30)
        station.run_task = asyncio.create_task(station._run(central_system))
        await asyncio.sleep(0)
        kept = [weakref.ref(station), weakref.ref(central_system), weakref.ref(station.connection)]
        await station.disconnect(1000)
        return kept

    kept = asyncio.run(run())

    assert [reference() for reference in kept] == [None, None, None]


def _closing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """A consumer's disconnect with nothing written: the disconnections it would record."""
    recorded: list[tuple[str, str]] = []

    async def record(item: tuple[str, str]) -> None:
        recorded.append(item)

    monkeypatch.setattr(consumer_module._Connections, "open", 10_000)
    monkeypatch.setattr(consumer_module._Connections, "closed_since_reclaim", 0)
    monkeypatch.setattr(consumer_module, "_disconnections", record)
    monkeypatch.setattr(consumer_module, "_memory_release_schedule", lambda: None)
    return recorded


def _station_with_a_hung_session(number: int) -> tuple[StationConsumer, asyncio.Event]:
    """A consumer whose session is stuck in a message's handler: closing its connection does not end it."""
    station = StationConsumer()
    station.station_id, station.connection_id = f"S-{number}", f"c-{number}"
    station.connection = ChannelsConnection(station._send_text)
    handler_entered = asyncio.Event()

    async def hung() -> None:
        handler_entered.set()
        await asyncio.Event().wait()

    station.run_task = asyncio.create_task(hung())
    return station, handler_entered


def test_a_session_still_running_after_its_connection_closed_is_cancelled(monkeypatch):
    recorded = _closing(monkeypatch)
    monkeypatch.setattr(consumer_module, "SESSION_END_SECONDS", 0.2)
    sessions: list[asyncio.Task[None]] = []

    async def run() -> None:
        station, entered = _station_with_a_hung_session(1)
        sessions.append(station.run_task)  # type: ignore[arg-type]
        await entered.wait()
        await asyncio.wait_for(station.disconnect(1000), timeout=60)  # the test's own limit, far above the 0.2 s

    asyncio.run(run())

    assert sessions[0].cancelled()
    assert recorded == [("S-1", "c-1")]
    assert consumer_module._Ending.deadlines == {}


def test_a_wave_of_disconnects_waits_on_one_timer_not_one_each(monkeypatch):
    # Thousands of stations dropping off at once: every disconnect in flight keeps what it waits with alive, and the
    # collector walks all of it (core/runtime.py). The deadline of the sessions still running is one timer.
    recorded = _closing(monkeypatch)
    monkeypatch.setattr(consumer_module, "SESSION_END_SECONDS", 3600.0)
    disconnects = 1_000

    async def run() -> int:
        stations = [_station_with_a_hung_session(number) for number in range(disconnects)]
        await asyncio.gather(*(entered.wait() for _, entered in stations))
        waiting = [asyncio.create_task(station.disconnect(1000)) for station, _ in stations]
        for _ in range(1_000):  # every disconnect waiting for its session
            if len(consumer_module._Ending.deadlines) == disconnects:
                break
            await asyncio.sleep(0)
        timers = sum(1 for thing in gc.get_objects() if type(thing) is asyncio.TimerHandle)  # not the proxies' class
        for station, _ in stations:  # the sessions end: each disconnect goes on
            station.run_task.cancel()
        await asyncio.gather(*waiting)
        return timers

    timers = asyncio.run(run())

    assert timers <= 2, f"{timers} timers for {disconnects} disconnects in flight"
    assert len(recorded) == disconnects
    assert consumer_module._Ending.deadlines == {}


@pytest.mark.parametrize(("still_open", "closed", "full"), [(5, 4, False), (5, 5, True), (0, 1, True)])
def test_a_full_reclaim_follows_a_wave_that_closed_at_least_as_many_connections_as_remain(
    monkeypatch, still_open, closed, full
):
    released: list[bool] = []
    monkeypatch.setattr(consumer_module, "MEMORY_RELEASE_DELAY_SECONDS", 0)
    monkeypatch.setattr(consumer_module, "_memory_release_pending", False)  # a release of an earlier test's loop
    monkeypatch.setattr(consumer_module, "memory_release", lambda *, full: released.append(full))
    monkeypatch.setattr(consumer_module._Connections, "open", still_open)
    monkeypatch.setattr(consumer_module._Connections, "closed_since_reclaim", closed)

    async def run() -> None:
        consumer_module._memory_release_schedule()
        await asyncio.gather(*consumer_module._background_tasks)

    asyncio.run(run())

    assert released == [full]
    assert consumer_module._Connections.closed_since_reclaim == (0 if full else closed)


def _release_recorded(monkeypatch) -> list[bool]:
    released: list[bool] = []
    monkeypatch.setattr(consumer_module, "MEMORY_RELEASE_DELAY_SECONDS", 0)
    monkeypatch.setattr(consumer_module, "_memory_release_pending", False)  # a release of an earlier test's loop
    monkeypatch.setattr(consumer_module, "memory_release", lambda *, full: released.append(full))
    return released


def _wave(closing: int, *, open_before: int, released: list[bool]) -> list[tuple[int, list[bool]]]:
    """A wave of `closing` disconnects, one per turn of the event loop after the release was scheduled; for each turn,
    the connections still open and the releases so far."""
    seen: list[tuple[int, list[bool]]] = []

    async def run() -> None:
        consumer_module._Connections.open = open_before
        consumer_module._memory_release_schedule()
        for _ in range(closing):
            await asyncio.sleep(0)
            consumer_module._Connections.open -= 1
            consumer_module._Connections.closed_since_reclaim += 1
            seen.append((consumer_module._Connections.open, list(released)))
        await asyncio.gather(*consumer_module._background_tasks)

    asyncio.run(run())
    return seen


def test_the_release_waits_until_the_wave_of_disconnects_is_over(monkeypatch):
    """A reclaim while stations are still closing would walk their objects too: it runs once none closed for a
    while (here a turn of the event loop), and then it is a full one, every connection having closed."""
    released = _release_recorded(monkeypatch)
    monkeypatch.setattr(consumer_module._Connections, "open", 0)
    monkeypatch.setattr(consumer_module._Connections, "closed_since_reclaim", 1)

    seen = _wave(4, open_before=4, released=released)

    assert seen == [(3, []), (2, []), (1, []), (0, [])]
    assert released == [True]
    assert consumer_module._Connections.closed_since_reclaim == 0


def test_stations_that_keep_dropping_off_do_not_put_the_release_off_for_ever(monkeypatch):
    released = _release_recorded(monkeypatch)
    monkeypatch.setattr(consumer_module, "MEMORY_RELEASE_WAIT_MAX_SECONDS", 0)
    monkeypatch.setattr(consumer_module._Connections, "open", 0)
    monkeypatch.setattr(consumer_module._Connections, "closed_since_reclaim", 1)

    _wave(4, open_before=4, released=released)

    # Decided at the first turn, while 3 were still open and 2 had closed since the last reclaim; waiting for the end
    # of the wave would have made it a full one.
    assert released == [False]
