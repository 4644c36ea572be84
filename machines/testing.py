"""A real ASGI server process and simulated charge points (the `ocpp` library's client side), for tests and the bench.

The server is uvicorn running `portal.asgi:application` on a free loopback port against the same database as the
caller; settlement runs inside it (eager Celery) unless the caller says otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from ocpp.v16 import ChargePoint as Client16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as Client201
from ocpp.v201 import call as call201

from core.serving import web_server_command
from core.testing import PROCESS_START_TIMEOUT_SECONDS, output_size, process_start_failure

BASE_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def asgi_server(
    *,
    environment: dict[str, str],
    log_path: Path | None = None,
    startup_timeout: float = PROCESS_START_TIMEOUT_SECONDS,
    workers: int = 1,
) -> Iterator[str]:
    """Starts the portal's server (`core.serving`, `workers` processes) on a free loopback port; yields its
    `ws://127.0.0.1:<port>` base URL; stops it on exit.

    The server's output goes to `log_path` (a temporary file without one); a server that exits or does not answer
    within `startup_timeout` seconds fails with the end of that output."""
    port = free_port()
    with contextlib.ExitStack() as cleanup:
        if log_path is None:
            log_path = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="finlab-asgi-"))) / "server.log"
        offset = output_size(log_path)
        log = cleanup.enter_context(log_path.open("ab"))
        command = web_server_command(host="127.0.0.1", port=port, workers=workers)
        process = subprocess.Popen(command, cwd=BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(port=port, process=process, timeout=startup_timeout, log_path=log_path, offset=offset)
            yield f"ws://127.0.0.1:{port}"
        finally:
            process_stop(process)


def process_stop(process: subprocess.Popen[bytes], *, timeout: float = 15.0) -> None:
    """Stops a server started for a test: SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_up(*, port: int, process: subprocess.Popen[bytes], timeout: float, log_path: Path, offset: int) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            reason = f"exited with {process.returncode} before it answered"
            raise process_start_failure(
                what="The ASGI server", reason=reason, output_path=log_path, output_offset=offset
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    reason = f"did not answer /health/live on port {port} within {timeout:.0f} s"
    raise process_start_failure(what="The ASGI server", reason=reason, output_path=log_path, output_offset=offset)


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RoundTrips:
    """Seconds each OCPP call took from send to response, for the bench's percentiles."""

    seconds: list[float] = field(default_factory=list)


class _Timed:
    round_trips: RoundTrips | None = None

    async def timed_call(self, payload: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = await self.call(payload, **kwargs)  # type: ignore[attr-defined]
        if self.round_trips is not None:
            self.round_trips.seconds.append(time.perf_counter() - started)
        return response


class Station16(_Timed, Client16):
    """A simulated OCPP 1.6J charge point."""


class Station201(_Timed, Client201):
    """A simulated OCPP 2.0.1 charging station."""


@contextlib.asynccontextmanager
async def station_connection(
    *, base_url: str, station_id: str, password: str, version: str, round_trips: RoundTrips | None = None
) -> Any:
    """Connects a simulated station over a real websocket and runs its receive loop; yields the ChargePoint."""
    subprotocol = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}[version]
    async with websockets.connect(
        f"{base_url}/ocpp/{station_id}",
        subprotocols=[subprotocol],
        additional_headers=basic_auth(station_id, password),
        open_timeout=30,
        proxy=None,  # loopback: no proxy, and no look through the environment for one at every connection
    ) as websocket:
        station = (Station16 if version == "1.6" else Station201)(station_id, websocket, response_timeout=30)
        station.round_trips = round_trips
        receiver = asyncio.create_task(station.start())
        try:
            yield station
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await receiver


def energy_sample16(*, moment: dt.datetime, energy_wh: int) -> dict[str, Any]:
    return {
        "timestamp": iso(moment),
        "sampledValue": [{"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}],
    }


def energy_sample201(*, moment: dt.datetime, energy_wh: int, context: str = "Sample.Periodic") -> dict[str, Any]:
    return {
        "timestamp": iso(moment),
        "sampledValue": [
            {
                "value": energy_wh,
                "measurand": "Energy.Active.Import.Register",
                "context": context,
                "unitOfMeasure": {"unit": "Wh"},
            }
        ],
    }


async def session16(
    station: Station16, *, id_tag: str, start: dt.datetime, registers_wh: list[int], step: dt.timedelta
) -> tuple[int, str]:
    """Boot, authorize, start, meter values, stop; returns (transaction id, authorization status at start)."""
    await station.timed_call(call16.BootNotification(charge_point_model="Sim", charge_point_vendor="FinLab"))
    await station.timed_call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"))
    await station.timed_call(call16.Authorize(id_tag=id_tag))
    started = await station.timed_call(
        call16.StartTransaction(connector_id=1, id_tag=id_tag, meter_start=registers_wh[0], timestamp=iso(start))
    )
    status = started.id_tag_info["status"]
    if status != "Accepted":
        return started.transaction_id, status
    transaction_id = started.transaction_id
    for index, register in enumerate(registers_wh[1:-1], start=1):
        await station.timed_call(
            call16.MeterValues(
                connector_id=1,
                transaction_id=transaction_id,
                meter_value=[energy_sample16(moment=start + step * index, energy_wh=register)],
            )
        )
    await station.timed_call(
        call16.StopTransaction(
            meter_stop=registers_wh[-1],
            timestamp=iso(start + step * (len(registers_wh) - 1)),
            transaction_id=transaction_id,
            reason="EVDisconnected",
        )
    )
    return transaction_id, status


def transaction_event201(
    *,
    event_type: str,
    transaction_id: str,
    moment: dt.datetime,
    seq_no: int,
    energy_wh: int | None,
    id_tag: str | None = None,
    trigger: str = "MeterValuePeriodic",
) -> call201.TransactionEvent:
    context = {"Started": "Transaction.Begin", "Ended": "Transaction.End"}.get(event_type, "Sample.Periodic")
    info: dict[str, Any] = {"transactionId": transaction_id}
    if event_type == "Ended":
        info["stoppedReason"] = "EVDisconnected"
    return call201.TransactionEvent(
        event_type=event_type,
        timestamp=iso(moment),
        trigger_reason=trigger,
        seq_no=seq_no,
        transaction_info=info,
        meter_value=None
        if energy_wh is None
        else [energy_sample201(moment=moment, energy_wh=energy_wh, context=context)],
        id_token={"idToken": id_tag, "type": "ISO14443"} if id_tag else None,
        evse={"id": 1, "connectorId": 1} if event_type == "Started" else None,
    )


async def session201(
    station: Station201,
    *,
    id_tag: str,
    transaction_id: str,
    start: dt.datetime,
    registers_wh: list[int],
    step: dt.timedelta,
) -> str:
    """Boot, authorize, TransactionEvent Started / Updated... / Ended; returns the status given at Started."""
    await station.timed_call(
        call201.BootNotification(charging_station={"model": "Sim", "vendorName": "FinLab"}, reason="PowerUp")
    )
    await station.timed_call(
        call201.StatusNotification(timestamp=iso(start), connector_status="Occupied", evse_id=1, connector_id=1)
    )
    await station.timed_call(call201.Authorize(id_token={"idToken": id_tag, "type": "ISO14443"}))
    started = await station.timed_call(
        transaction_event201(
            event_type="Started",
            transaction_id=transaction_id,
            moment=start,
            seq_no=0,
            energy_wh=registers_wh[0],
            id_tag=id_tag,
            trigger="Authorized",
        )
    )
    status = started.id_token_info["status"]
    if status != "Accepted":
        return status
    for index, register in enumerate(registers_wh[1:-1], start=1):
        await station.timed_call(
            transaction_event201(
                event_type="Updated",
                transaction_id=transaction_id,
                moment=start + step * index,
                seq_no=index,
                energy_wh=register,
            )
        )
    last = len(registers_wh) - 1
    await station.timed_call(
        transaction_event201(
            event_type="Ended",
            transaction_id=transaction_id,
            moment=start + step * last,
            seq_no=last,
            energy_wh=registers_wh[-1],
            trigger="EVDeparted",
        )
    )
    return status
