"""Which server serves the portal: the candidates measured in one run, on one machine, against one database.

Every setup serves the same portal (bench/redemption.py's URLconf: the portal's routes plus the bare DRF endpoint),
started through bench/servers.py, a batch of them at once on their own ports. Then `ROUNDS` rounds visit the setups in
turn: wrk (bench/redemption.lua) holds `CLIENTS` keep-alive connections, each a dealer with its own API token and
code, against the bare endpoint and then `POST /api/payments/qr-redemptions`, `SECONDS` each. A setup's figure is its
median over the rounds, so a machine whose speed drifts (other work on it) slows every setup alike instead of
whichever ran at the wrong moment. Setups that serve ASGI then answer `STATIONS` OCPP stations over real websockets
(half 1.6J, half 2.0.1): each connects, boots and sends `HEARTBEATS` heartbeats, all at once.

Setups: uvicorn with 3 and 5 worker processes (`core.serving`, what `make run` and the load run use: HTTP into
Django's WSGI handler through a2wsgi's bridge, portal/asgi.py), uvicorn with Django's own ASGI handler for HTTP (how
the portal was served before the bridge), gunicorn with uvicorn workers, and gunicorn's sync and gthread workers on
the WSGI application (which cannot serve the websockets: production would need a second, ASGI server for them). With `BENCH_SERVING_BASELINE=<git revision>` the first row is
that revision (extracted with `git archive`) served as it served itself, uvicorn with 3 workers: the ratio against the
code before the change, measured in the same run. gunicorn comes from `requirements/bench.txt`.

`python -m bench --only bench.serving`; `BENCH_SERVING_SECONDS` (default 5) per endpoint, setup and round,
`BENCH_SERVING_ROUNDS` (default 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import BASE_DIR, free_port, served
from core.client_address import uvicorn_proxy_arguments
from core.serving import web_server_command

SECONDS = float(os.environ.get("BENCH_SERVING_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_SERVING_ROUNDS", "5"))
WARMUP_SECONDS = 3
STATIONS = int(os.environ.get("BENCH_SERVING_STATIONS", "200"))
HEARTBEATS = 5
LOG_PATH = Path("/tmp/finlab-bench-serving.log")  # noqa: S108 - a log for whoever investigates a slow run
ASGI_FACTORY = "bench.redemption:bench_asgi_application"
DJANGO_ASGI_FACTORY = "bench.redemption:bench_django_asgi_application"


@dataclass(frozen=True)
class Setup:
    name: str
    kind: str  # uvicorn, uvicorn-django-asgi, gunicorn-uvicorn, gunicorn-sync, gunicorn-gthread
    workers: int
    threads: int = 1
    source: Path | None = None  # another checkout (the baseline revision); None: this one

    @property
    def serves_websockets(self) -> bool:
        return self.kind in ("uvicorn", "uvicorn-django-asgi", "gunicorn-uvicorn")

    def command(self, port: int) -> list[str]:
        if self.kind == "uvicorn":
            if self.source is not None:  # the baseline as it started itself: uvicorn's defaults, 3 workers
                return [
                    sys.executable, "-m", "uvicorn", "--factory", ASGI_FACTORY, "--host", "127.0.0.1", "--port",
                    str(port), "--workers", str(self.workers), "--no-access-log", "--log-level", "warning",
                    "--lifespan", "off", *uvicorn_proxy_arguments(),
                ]  # fmt: skip
            return web_server_command(
                host="127.0.0.1", port=port, workers=self.workers, application=ASGI_FACTORY, factory=True
            )
        if self.kind == "uvicorn-django-asgi":
            return web_server_command(
                host="127.0.0.1", port=port, workers=self.workers, application=DJANGO_ASGI_FACTORY, factory=True
            )
        gunicorn = [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(self.workers),
            "--log-level", "warning", "--timeout", "60", "--keep-alive", "75",
        ]  # fmt: skip
        if self.kind == "gunicorn-uvicorn":
            return [*gunicorn, "--worker-class", "uvicorn.workers.UvicornWorker", f"{ASGI_FACTORY}()"]
        worker_class = ["--worker-class", "gthread", "--threads", str(self.threads)] if self.threads > 1 else []
        return [*gunicorn, *worker_class, "bench.redemption:bench_wsgi_application()"]


@dataclass
class Measured:
    """Per round: bare endpoint and redemption results (bench.redemption.LoadResult); the websocket figures."""

    setup: Setup
    bare: list[Any] = field(default_factory=list)
    redeem: list[Any] = field(default_factory=list)
    websockets: tuple[int, float, float, float] | None = None  # messages, per second, p50 ms, p99 ms

    def median(self, endpoint: str, attribute: str) -> float:
        return statistics.median(getattr(result, attribute) for result in getattr(self, endpoint))

    def errors(self, endpoint: str) -> int:
        return sum(result.errors for result in getattr(self, endpoint))


# Batches of setups served at once (each process holds database connections, and the machine's PostgreSQL has a
# hundred for everyone): the first names the baseline revision, if any, and the setups it is compared with; the second
# repeats `core.serving`'s setup as its reference beside the others.
BATCHES = os.environ.get(
    "BENCH_SERVING_BATCHES",
    "baseline,uvicorn5,uvicorn3;uvicorn5,django-asgi5,django-asgi3,gunicorn-uvicorn5,gunicorn-sync5,gunicorn-gthread3x4",
)
SETUPS = {
    "uvicorn3": Setup("uvicorn, 3 workers", "uvicorn", 3),
    "uvicorn5": Setup("uvicorn, 5 workers (`core.serving` on 2 cores)", "uvicorn", 5),
    "django-asgi3": Setup("uvicorn, 3 workers, Django's ASGI handler for HTTP", "uvicorn-django-asgi", 3),
    "django-asgi5": Setup("uvicorn, 5 workers, Django's ASGI handler for HTTP", "uvicorn-django-asgi", 5),
    "gunicorn-uvicorn5": Setup("gunicorn + uvicorn workers, 5", "gunicorn-uvicorn", 5),
    "gunicorn-sync5": Setup("gunicorn sync, 5 workers (WSGI only)", "gunicorn-sync", 5),
    "gunicorn-gthread3x4": Setup("gunicorn gthread, 3 workers x 4 threads (WSGI only)", "gunicorn-gthread", 3, 4),
}
# Connections per server process: a uvicorn process runs synchronous views in one thread, gthread in 4.
POOL_SIZE = {"DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_MAX_SIZE": "4"}


def _batches() -> list[list[Setup]]:
    revision = os.environ.get("BENCH_SERVING_BASELINE", "").strip()
    batches = []
    for batch in BATCHES.split(";"):
        setups = []
        for key in filter(None, (name.strip() for name in batch.split(","))):
            if key == "baseline":
                if revision:
                    setups.append(_baseline(revision))
                continue
            setups.append(SETUPS[key])
        if setups:
            batches.append(setups)
    return batches


def _baseline(revision: str) -> Setup:
    """`revision` extracted with `git archive`, served as it served itself: uvicorn with 3 workers."""
    checkout = Path(tempfile.mkdtemp(prefix="finlab-serving-baseline-"))
    archive = subprocess.run(["git", "archive", revision], cwd=BASE_DIR, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive, check=True)
    return Setup(f"baseline `{revision}`: uvicorn, 3 workers", "uvicorn", 3, source=checkout)


def _measure_all(setups: list[Setup], *, clients_file: Path, stations: list[tuple[str, str]]) -> list[Measured]:
    from bench.redemption import CLIENTS, _load

    measured = [Measured(setup) for setup in setups]
    with contextlib.ExitStack() as servers:
        ports = []
        for setup in setups:
            port = free_port()
            cwd = setup.source or BASE_DIR
            path = os.pathsep.join(filter(None, [str(cwd), os.environ.get("PYTHONPATH")]))
            environment = os.environ | POOL_SIZE | {"PYTHONPATH": path}
            servers.enter_context(
                served(setup.command(port), port=port, log_path=LOG_PATH, cwd=cwd, environment=environment)
            )
            ports.append(port)
        load = functools.partial(_load, clients_file=clients_file, clients=CLIENTS)
        for port in ports:
            for endpoint in ("bare", "redeem"):
                load(port=port, endpoint=endpoint, seconds=WARMUP_SECONDS)
        for _ in range(ROUNDS):
            for result, port in zip(measured, ports, strict=True):
                result.bare.append(load(port=port, endpoint="bare", seconds=SECONDS))
                result.redeem.append(load(port=port, endpoint="redeem", seconds=SECONDS))
        for result, port in zip(measured, ports, strict=True):
            if result.setup.serves_websockets and stations:
                result.websockets = asyncio.run(_stations(port, stations))
    return measured


async def _stations(port: int, stations: list[tuple[str, str]]) -> tuple[int, float, float, float]:
    from ocpp.v16 import call as call16
    from ocpp.v201 import call as call201

    from bench.machines import PASSWORD
    from machines.testing import RoundTrips, station_connection

    round_trips = RoundTrips()

    async def one(index: int, station_id: str) -> None:
        version = "1.6" if index % 2 == 0 else "2.0.1"
        async with station_connection(
            base_url=f"ws://127.0.0.1:{port}", station_id=station_id, password=PASSWORD, version=version,
            round_trips=round_trips,
        ) as station:  # fmt: skip
            if version == "1.6":
                await station.timed_call(call16.BootNotification(charge_point_model="Sim", charge_point_vendor="F"))
                for _ in range(HEARTBEATS):
                    await station.timed_call(call16.Heartbeat())
            else:
                await station.timed_call(
                    call201.BootNotification(charging_station={"model": "Sim", "vendorName": "F"}, reason="PowerUp")
                )
                for _ in range(HEARTBEATS):
                    await station.timed_call(call201.Heartbeat())

    started = time.perf_counter()
    await asyncio.gather(*(one(index, station_id) for index, (station_id, _) in enumerate(stations)))
    elapsed = time.perf_counter() - started
    ordered = sorted(round_trips.seconds)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return len(ordered), len(ordered) / elapsed, statistics.median(ordered) * 1000, p99 * 1000


def run() -> str:
    from bench.machines import _fleet
    from bench.redemption import _clients_create

    clients = _clients_create()
    stations = _fleet(f"srv{os.getpid()}", STATIONS) if STATIONS else []
    with tempfile.NamedTemporaryFile("w", suffix=".clients", delete=False) as clients_file:
        clients_file.write("".join(f"{client.api_token} {client.code_token}\n" for client in clients))
    try:
        batches = [
            _measure_all(setups, clients_file=Path(clients_file.name), stations=stations) for setups in _batches()
        ]
    finally:
        os.unlink(clients_file.name)
    return _report(batches)


def _report(batches: list[list[Measured]]) -> str:
    rows = []
    for number, results in enumerate(batches, start=1):
        reference = results[0].median("redeem", "per_second")
        for measured in results:
            ws = measured.websockets
            redemptions = measured.median("redeem", "per_second")
            rows.append(
                f"| {number} | {measured.setup.name} | {measured.median('bare', 'per_second'):,.0f} "
                f"({measured.errors('bare')}) | {redemptions:,.0f} ({measured.errors('redeem')}) | "
                f"{measured.median('redeem', 'p50_ms'):.0f} / {measured.median('redeem', 'p99_ms'):.0f} ms | "
                f"{redemptions / reference:.2f}x | "
                + (f"{ws[0]:,} at {ws[1]:,.0f}/s, p50 {ws[2]:.0f} ms, p99 {ws[3]:.0f} ms |" if ws else "not served |")
            )
    return "\n".join(
        [
            "## Serving: which server, how many processes (issue 20)",
            "",
            f"The setups of a batch run at once on 127.0.0.1, same database and machine; {ROUNDS} rounds visit them in "
            f"turn, wrk holding 32 keep-alive connections (one dealer each) for {SECONDS:.0f} s per endpoint; each "
            f"figure is the median over the rounds (errors: the sum). Then {STATIONS} OCPP stations (half 1.6J, half "
            f"2.0.1) connect at once to each ASGI setup, boot and send {HEARTBEATS} heartbeats each. The ratio is "
            "redemptions per second against the first row of the batch.",
            "",
            "| batch | setup | bare endpoint/s (errors) | redemptions/s (errors) | redemption p50 / p99 | ratio | "
            "OCPP websockets |",
            "|---|---|---:|---:|---:|---:|---|",
            *rows,
            "",
        ]
    )
