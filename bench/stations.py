"""A fleet of charge points on one server for minutes: a restart storm, heartbeats, meter values, sessions, and what
the server pays for them (issue 20, target 4).

`STATIONS` simulated stations (half OCPP 1.6J, half 2.0.1, the `ocpp` library over real websockets, in this process
on uvloop) against one server process started as `core.serving` starts it, with the rest of the portal beside it
(bench/stack.py: Celery worker, beat, the Tangle node), so every session is settled by a real worker:

1. Restart storm: every station connects at once, then boots. Handshake and BootNotification latencies.
2. Steady state for `SECONDS`: a heartbeat every 30 s and, during its session, meter values every 10 s; each station
   starts and stops one session at a random moment of the run (so `STATIONS` sessions start and stop across it).
   Round trips per minute and overall, from `WARMUP_SECONDS` after the storm.
3. Every station disconnects; the run waits for the server to hand memory back.
4. Second wave: every station connects again at once, heartbeats for `SECOND_WAVE_SECONDS` and leaves: whether the
   memory the first wave left with the server process is used for the same connections again, or added to. Then the
   run waits for settlement.

Server figures, read from the server process: CPU seconds (utime + stime from /proc) over the steady state divided by
the OCPP messages of that window. The window begins once every station has booted or failed (and not before
`WARMUP_SECONDS`) and ends when the stations' plans end, before the first of them disconnects: the disconnect wave
(every station's disconnect written, the memory reclaim after it) sends no OCPP message and is reported on its own
line, as is the figure with the window running on until the last station left (how it was measured before). Every
garbage collection's pause (`core.runtime`'s gc.callbacks summary,
`PORTAL_RUNTIME_STATS_PATH`); resident memory before the storm, with every station connected, and after they left.
Checks: every session settled exactly once, invoiced = operator credited.

The simulator shares the machine with the server, so its own CPU is kept low and is reported beside the server's
(`simulator CPU` over the storm): it does not check payloads against the OCPP schemas (its stations' messages are
fixed and valid; the server still checks every one it receives and pays for it), and a CALLERROR answer counts as a
failure rather than as an answer. A storm in which the simulator used more CPU than the server mostly measures the
simulator: real stations bring their own CPUs. For the same reason its own collector freezes its heap once every
storm begins and runs no automatic full collection until the stations leave (`BENCH_STATIONS_SIMULATOR_GC`,
`_simulator_collector_tuned`): with Python's defaults each of its full collections held its event loop for about
half a second, and every round trip in flight counted it; in the storm, every handshake and BootNotification in
flight. Its collections in the storm and in the steady state are reported.

Baseline in the same run (`BENCH_STATIONS_BASELINE=1`): the same fleet against a server with Python's collector
defaults, no freeze, compressed websocket frames and Python's own memory allocator (what the server did before),
measured first. `PYTHONMALLOC=pymalloc` in the bench's environment runs the server on Python's allocator alone.

`python -m bench --only bench.stations`; `BENCH_STATIONS` (default 5000), `BENCH_STATIONS_SECONDS` (default 600),
`BENCH_STATIONS_SIMULATOR_GC=steady` for the simulator's collector tuned only from the steady state on (as the runs
before 2026-12-07 22:40 UTC measured the storm), `=python` for Python's defaults throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import glob
import json
import logging
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from bench.stack import LOG_DIR, Stack
from core.serving import web_server_command
from machines.testing import energy_sample16, iso, transaction_event201

STATIONS = int(os.environ.get("BENCH_STATIONS", "5000"))
SECONDS = float(os.environ.get("BENCH_STATIONS_SECONDS", "600"))
WITH_BASELINE = os.environ.get("BENCH_STATIONS_BASELINE", "") not in ("", "0", "false")
# The simulator's own collector: "storm" (its heap frozen and no automatic full collection from the storm until the
# stations leave), "steady" (the same from when every station has booted) or "python" (Python's defaults throughout).
SIMULATOR_GC = os.environ.get("BENCH_STATIONS_SIMULATOR_GC", "storm")
HEARTBEAT_SECONDS = 30.0
METER_SECONDS = 10.0
# A session lasts 1 to 3 minutes (shorter in a run too short for that), with a stop well before the run ends.
SESSION_SECONDS = (min(60.0, SECONDS / 6), min(180.0, SECONDS / 3))
WARMUP_SECONDS = min(30.0, SECONDS / 6)
SETTLE_TIMEOUT_SECONDS = 900.0
RELEASE_WAIT_SECONDS = 15.0
# The second wave: every station back at once after the first left, heartbeats for a minute, no session; its memory
# is read once every station has booted and this long has passed.
SECOND_WAVE_SECONDS = 60.0
SECOND_WAVE_SETTLE_SECONDS = 10.0
PASSWORD = "bench-station-password-01"  # noqa: S105 - the bench fleet's throwaway credential (bench.machines)
TARGETS = {"steady_p99_ms": 100.0, "boot_p99_ms": 2000.0, "cpu_ms_per_message": 1.5, "gc_pause_ms": 50.0}


@dataclass
class Fleet:
    """Latencies (monotonic time sent, seconds) and failures, shared by every simulated station."""

    handshakes: list[float] = field(default_factory=list)
    boots: list[float] = field(default_factory=list)
    round_trips: list[tuple[float, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sessions_started: int = 0
    sessions_stopped: int = 0


@dataclass
class Plan:
    """Monotonic moments of one station's session start and stop, and the end of the run."""

    start: float
    stop: float
    end: float


@dataclass(frozen=True)
class Outcome:
    name: str
    fleet: Fleet
    again: Fleet  # the second wave: the same stations back at once, heartbeats only, then gone again
    storm_seconds: float
    storm_cpu_seconds: tuple[float, float]  # server, simulator, until every station booted or failed
    steady: tuple[float, float]  # monotonic start and end of the measured window
    cpu_seconds: float
    departure_cpu_seconds: float  # from the window's end until every station's task ended (their disconnects)
    phases: dict[str, float]  # wall-clock (time.time()) moments the storm, the steady state and the departure began
    resident: dict[str, int]  # before, connected, after; connected again, after again (the second wave)
    blocks: dict[str, int]  # Python's allocated memory blocks at the same moments (0 unless on pymalloc)
    allocator: str  # where the server's memory comes from (core.runtime.allocator_name; core/serving.py)
    gc: dict[str, dict[str, float]]
    long_pauses: list[dict[str, float]]  # core.runtime's collections over 50 ms: moment, generation, wall and CPU ms
    settlement: dict[str, int]
    simulator_pauses: list[tuple[float, int, float]]  # the simulator's own collections: moment, generation, seconds


class _FleetStack(Stack):
    """The portal's processes with one web server process, tuned as in production or as before (`baseline`)."""

    def __init__(self, *, environment: dict[str, str], baseline: bool) -> None:
        super().__init__(environment=environment, web_workers=1, worker_concurrency=2)
        self.baseline = baseline

    def commands(self) -> dict[str, list[str]]:
        commands = super().commands()
        web = web_server_command(host="127.0.0.1", port=self.web_port, workers=1)
        if self.baseline:
            web[web.index("--ws-per-message-deflate") + 1] = "true"
        commands["web"] = web
        return commands


def _prefix(name: str) -> str:
    return f"{name}{os.getpid() % 10_000}"


class _SimulatedStation:
    """One station's life in the run: connect, boot, then heartbeats every 30 s (random phase) and one session from
    `plan.start` to `plan.stop` with meter values every 10 s, until `plan.end`."""

    def __init__(self, *, station_id: str, id_token: str, version: str, fleet: Fleet, plan: Plan) -> None:
        self.station_id, self.id_token, self.version, self.fleet, self.plan = station_id, id_token, version, fleet, plan
        self.transaction_id: int | str | None = None
        self.energy_wh = 0
        self.sequence = 0
        self.last_moment = dt.datetime.min.replace(tzinfo=dt.UTC)

    async def run(self, base_url: str) -> None:
        from machines.testing import station_connection

        started = time.monotonic()
        try:
            async with station_connection(
                base_url=base_url, station_id=self.station_id, password=PASSWORD, version=self.version
            ) as station:
                self.fleet.handshakes.append(time.monotonic() - started)
                self.station = station
                await self._call(self._boot(), boot=True)
                await self._live()
        except Exception as error:  # noqa: BLE001 - every failure of a station is counted and reported
            self.fleet.failures.append(f"{self.station_id}: {type(error).__name__}: {error}"[:300])

    async def _call(self, payload: object, *, boot: bool = False) -> object:
        sent = time.monotonic()
        # The simulator checks neither its requests nor the answers against the schemas (the server checks what it
        # receives, and its tests check what it answers); a CALLERROR answer raises and counts as a failure.
        answer = await self.station.call(payload, suppress=False, skip_schema_validation=True)
        elapsed = time.monotonic() - sent
        if boot:
            self.fleet.boots.append(elapsed)
        self.fleet.round_trips.append((sent, elapsed))
        return answer

    async def _live(self) -> None:
        plan = self.plan
        next_heartbeat = time.monotonic() + random.uniform(0, HEARTBEAT_SECONDS)
        next_meter: float | None = None
        while time.monotonic() < plan.end:
            due = [next_heartbeat, plan.end]
            if self.transaction_id is None and plan.start < plan.end:
                due.append(plan.start)
            if self.transaction_id is not None:
                due += [plan.stop, next_meter or plan.stop]
            wake = min(due)
            now = time.monotonic()
            if wake > now:
                await asyncio.sleep(wake - now)
                continue
            if self.transaction_id is None and plan.start <= now:
                await self._start()
                plan.start, next_meter = float("inf"), now + METER_SECONDS
            elif self.transaction_id is not None and plan.stop <= now:
                await self._stop()
                next_meter = None
            elif self.transaction_id is not None and next_meter is not None and next_meter <= now:
                await self._meter()
                next_meter = now + METER_SECONDS
            elif next_heartbeat <= now:
                await self._call(call16.Heartbeat() if self.version == "1.6" else call201.Heartbeat())
                next_heartbeat = now + HEARTBEAT_SECONDS

    def _moment(self) -> dt.datetime:
        """Now to the second, later than the station's last reading (a meter register reads once per second)."""
        moment = max(dt.datetime.now(dt.UTC).replace(microsecond=0), self.last_moment + dt.timedelta(seconds=1))
        self.last_moment = moment
        return moment

    def _boot(self) -> object:
        if self.version == "1.6":
            return call16.BootNotification(charge_point_model="Sim", charge_point_vendor="FinLab")
        return call201.BootNotification(charging_station={"model": "Sim", "vendorName": "FinLab"}, reason="PowerUp")

    async def _start(self) -> None:
        moment = self._moment()
        if self.version == "1.6":
            answer = await self._call(
                call16.StartTransaction(connector_id=1, id_tag=self.id_token, meter_start=0, timestamp=iso(moment))
            )
            self.transaction_id = answer.transaction_id  # type: ignore[attr-defined]
        else:
            self.transaction_id = f"t-{self.station_id}"
            await self._call(
                transaction_event201(
                    event_type="Started", transaction_id=self.transaction_id, moment=moment, seq_no=0, energy_wh=0,
                    id_tag=self.id_token, trigger="Authorized",
                )
            )  # fmt: skip
        self.fleet.sessions_started += 1

    async def _meter(self) -> None:
        self.energy_wh += 300
        moment = self._moment()
        if self.version == "1.6":
            await self._call(
                call16.MeterValues(
                    connector_id=1, transaction_id=self.transaction_id,
                    meter_value=[energy_sample16(moment=moment, energy_wh=self.energy_wh)],
                )
            )  # fmt: skip
        else:
            self.sequence += 1
            await self._call(
                transaction_event201(
                    event_type="Updated", transaction_id=str(self.transaction_id), moment=moment,
                    seq_no=self.sequence, energy_wh=self.energy_wh,
                )
            )  # fmt: skip

    async def _stop(self) -> None:
        self.energy_wh += 500
        moment = self._moment()
        if self.version == "1.6":
            await self._call(
                call16.StopTransaction(
                    meter_stop=self.energy_wh, timestamp=iso(moment), transaction_id=self.transaction_id,
                    reason="EVDisconnected",
                )
            )  # fmt: skip
        else:
            self.sequence += 1
            await self._call(
                transaction_event201(
                    event_type="Ended", transaction_id=str(self.transaction_id), moment=moment,
                    seq_no=self.sequence, energy_wh=self.energy_wh, trigger="EVDeparted",
                )
            )  # fmt: skip
        self.fleet.sessions_stopped += 1
        self.transaction_id = None
        self.plan.stop = float("inf")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runtime_stats(stats_path: str) -> dict:
    files = sorted(glob.glob(f"{stats_path}.*.json"))
    return json.loads(Path(files[-1]).read_text()) if files else {}


def _fleet_connect(
    pairs: list[tuple[str, str]], *, fleet: Fleet, plans: list[Plan], base_url: str
) -> list[asyncio.Task[None]]:
    """Every station of `pairs` connecting at once (half 1.6J, half 2.0.1), each living by its plan, as tasks."""
    return [
        asyncio.create_task(
            _SimulatedStation(
                station_id=station_id, id_token=token, version="1.6" if index % 2 == 0 else "2.0.1",
                fleet=fleet, plan=plans[index],
            ).run(base_url)
        )
        for index, (station_id, token) in enumerate(pairs)
    ]  # fmt: skip


async def _fleet_booted(fleet: Fleet, stations: int, *, until: float) -> None:
    """Returns once every station has booted or failed, or at the monotonic moment `until`."""
    while len(fleet.boots) + len(fleet.failures) < stations and time.monotonic() < until:
        await asyncio.sleep(0.5)


class _SimulatorCollections:
    """Every collection of the simulator's own collector (gc.callbacks): when it began and how long it held the
    simulator's event loop, during which no answer is read and every round trip in flight grows."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []
        self._began = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((time.time(), info["generation"], time.perf_counter() - self._began))

    @contextlib.contextmanager
    def recorded(self) -> Iterator[None]:
        gc.callbacks.append(self._callback)
        try:
            yield
        finally:
            gc.callbacks.remove(self._callback)


@contextlib.contextmanager
def _simulator_collector_tuned() -> Iterator[None]:
    """The simulator's collector from here on: its heap as it is now frozen, and no automatic full collection, which
    would walk 5,000 stations' connections and clients again each time. With Python's defaults the
    simulator's full collections held its event loop for hundreds of milliseconds at a time, and every round trip in
    flight then counted them as the portal's latency. Young and middle collections still free the cycles a message
    leaves; what reaches the oldest generation waits for the end of the run."""
    if SIMULATOR_GC == "python":
        yield
        return
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(thresholds[0], thresholds[1], 2**30)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _fleet_run(name: str, pairs: list[tuple[str, str]], *, baseline: bool) -> Outcome:
    import uvloop

    stats_path = str(LOG_DIR / f"runtime-{name.replace(' ', '-')}")
    for old in glob.glob(f"{stats_path}.*"):
        os.unlink(old)
    environment = os.environ | {"CELERY_TASK_ALWAYS_EAGER": "false", "PORTAL_RUNTIME_STATS_PATH": stats_path}
    if baseline:
        environment["PORTAL_RUNTIME_TUNING"] = "off"
        environment["PYTHONMALLOC"] = "pymalloc"
    fleet = Fleet()
    simulator_gc = _SimulatorCollections()
    with _FleetStack(environment=environment, baseline=baseline) as stack, simulator_gc.recorded():
        web_pid = stack.processes["web"].pid
        time.sleep(2)
        started = _runtime_stats(stats_path)
        before, blocks = started.get("resident_bytes", 0), {"before": started.get("allocated_blocks", 0)}
        base_url = stack.base_url.replace("http://", "ws://")
        storm_began = time.monotonic()
        phases = {"storm": time.time()}
        end = storm_began + SECONDS
        plans = []
        for _ in pairs:
            start = random.uniform(storm_began + WARMUP_SECONDS, end - SESSION_SECONDS[1])
            plans.append(Plan(start=start, stop=start + random.uniform(*SESSION_SECONDS), end=end))
        steady: dict[str, float] = {}
        resident: dict[str, int] = {"before": before}

        async def _window_end() -> None:
            """The steady window's end: when the plans end, before a station leaves (they leave right after)."""
            await asyncio.sleep(max(0.0, end - time.monotonic()))
            steady["ended"], steady["cpu_ended"] = time.monotonic(), _cpu_seconds(web_pid)
            phases["departure"] = time.time()

        async def main() -> None:
            steady["server_cpu_storm"], steady["simulator_cpu_storm"] = _cpu_seconds(web_pid), _cpu_seconds(os.getpid())
            tasks = _fleet_connect(pairs, fleet=fleet, plans=plans, base_url=base_url)
            await _fleet_booted(fleet, len(pairs), until=end)
            steady["storm_seconds"] = time.monotonic() - storm_began
            steady["server_cpu_storm"] = _cpu_seconds(web_pid) - steady["server_cpu_storm"]
            steady["simulator_cpu_storm"] = _cpu_seconds(os.getpid()) - steady["simulator_cpu_storm"]
            with _simulator_collector_tuned() if SIMULATOR_GC == "steady" else contextlib.nullcontext():
                await asyncio.sleep(max(0.0, storm_began + WARMUP_SECONDS - time.monotonic()))
                steady["began"], steady["cpu_began"] = time.monotonic(), _cpu_seconds(web_pid)
                phases["steady"] = time.time()
                window_end = asyncio.create_task(_window_end())
                connected = _runtime_stats(stats_path)
                resident["connected"], blocks["connected"] = (
                    connected.get("resident_bytes", 0),
                    connected.get("allocated_blocks", 0),
                )
                await asyncio.gather(*tasks)
                await window_end
            steady["cpu_left"] = _cpu_seconds(web_pid)

        with _simulator_collector_tuned() if SIMULATOR_GC == "storm" else contextlib.nullcontext():
            uvloop.run(main())
        time.sleep(RELEASE_WAIT_SECONDS)
        runtime = _runtime_stats(stats_path)
        resident["after"], blocks["after"] = runtime.get("resident_bytes", 0), runtime.get("allocated_blocks", 0)
        again = Fleet()

        async def second_wave() -> None:
            """The same stations come back at once (a second restart storm), heartbeat, and leave again: is the memory
            the first wave left with the process used for them, or added to?"""
            wave_end = time.monotonic() + SECOND_WAVE_SECONDS
            no_sessions = [Plan(start=float("inf"), stop=float("inf"), end=wave_end) for _ in pairs]
            tasks = _fleet_connect(pairs, fleet=again, plans=no_sessions, base_url=base_url)
            await _fleet_booted(again, len(pairs), until=wave_end)
            await asyncio.sleep(max(0.0, min(SECOND_WAVE_SETTLE_SECONDS, wave_end - time.monotonic() - 1)))
            resident["connected again"] = _runtime_stats(stats_path).get("resident_bytes", 0)
            await asyncio.gather(*tasks)

        with _simulator_collector_tuned() if SIMULATOR_GC == "storm" else contextlib.nullcontext():
            uvloop.run(second_wave())
        time.sleep(RELEASE_WAIT_SECONDS)
        resident["after again"] = _runtime_stats(stats_path).get("resident_bytes", 0)
        settlement = _settled(pairs)
    return Outcome(
        name=name,
        fleet=fleet,
        again=again,
        storm_seconds=steady["storm_seconds"],
        storm_cpu_seconds=(steady["server_cpu_storm"], steady["simulator_cpu_storm"]),
        steady=(steady["began"], steady["ended"]),
        cpu_seconds=steady["cpu_ended"] - steady["cpu_began"],
        departure_cpu_seconds=steady["cpu_left"] - steady["cpu_ended"],
        phases=phases,
        resident=resident,
        blocks=blocks,
        allocator=str(started.get("allocator", "")),
        gc=runtime.get("generations", {}),
        long_pauses=runtime.get("long_pauses", []),
        settlement=settlement,
        simulator_pauses=simulator_gc.pauses,
    )


def _settled(pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Waits until no stopped session waits for settlement (or the timeout), then the bench.machines checks."""
    from django.db.models import Count, Sum

    from machines.models import ChargingInvoice, ChargingSession
    from payments.ledger.selectors import account_get

    station_ids = [station_id for station_id, _ in pairs]
    sessions = ChargingSession.objects.filter(station__station_id__in=station_ids)
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while time.monotonic() < deadline and sessions.filter(status="ended").exists():
        time.sleep(2)
    invoices = ChargingInvoice.objects.filter(session__in=sessions)
    operator_account = sessions.first().station.operator.account_id if sessions.exists() else None
    return {
        "sessions": sessions.count(),
        "settled": sessions.filter(status="settled").count(),
        "still_active": sessions.filter(status="active").count(),
        "settled_twice": invoices.values("session").annotate(n=Count("id")).filter(n__gt=1).count(),
        "invoiced": invoices.aggregate(total=Sum("charged_amount"))["total"] or 0,
        "operator_credited": account_get(account_id=operator_account).credits_posted if operator_account else 0,
    }


def _long_pauses_by_phase(outcome: Outcome) -> str:
    """Collections over 50 ms per phase of the run, each as count (generations, longest wall ms)."""
    phases = outcome.phases
    bounds = [("storm", phases["storm"], phases["steady"]), ("steady", phases["steady"], phases["departure"])]
    bounds.append(("departure", phases["departure"], float("inf")))
    cells = []
    for _name, began, ended in bounds:
        pauses = [pause for pause in outcome.long_pauses if began <= pause["at"] < ended]
        if not pauses:
            cells.append("0")
            continue
        generations = ", ".join(f"gen{g}: {sum(1 for p in pauses if p['generation'] == g)}" for g in (0, 1, 2))
        cells.append(f"{len(pauses)} ({generations}; ≤ {max(p['ms'] for p in pauses):.0f} ms)")
    return " / ".join(cells)


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run() -> str:
    from bench.machines import _fleet

    logging.getLogger("ocpp").setLevel(logging.WARNING)
    outcomes = []
    if WITH_BASELINE:
        outcomes.append(_fleet_run("before", _fleet(_prefix("sb"), STATIONS), baseline=True))
    outcomes.append(_fleet_run("now", _fleet(_prefix("sn"), STATIONS), baseline=False))
    return _report(outcomes)


def _report(outcomes: list[Outcome]) -> str:
    rows: dict[str, list[str]] = {}

    def add(label: str, *values: str) -> None:
        rows.setdefault(label, []).extend(values)

    for outcome in outcomes:
        fleet = outcome.fleet
        began, ended = outcome.steady
        steady = [seconds for sent, seconds in fleet.round_trips if began <= sent <= ended]
        messages = len(steady)
        per_minute = {}
        for sent, seconds in fleet.round_trips:
            if began <= sent <= ended:
                per_minute.setdefault(int((sent - began) // 60), []).append(seconds)
        minute_p99 = [_percentile(values, 0.99) * 1000 for values in per_minute.values()]
        connected = outcome.resident.get("connected", 0) - outcome.resident.get("before", 0)
        kept = outcome.resident.get("after", 0) - outcome.resident.get("before", 0)
        longest = max((generation.get("max_ms", 0.0) for generation in outcome.gc.values()), default=0.0)
        over = sum(int(generation.get("over_50_ms", 0)) for generation in outcome.gc.values())
        longest_cpu = max((generation.get("max_cpu_ms", 0.0) for generation in outcome.gc.values()), default=0.0)
        over_cpu = sum(int(generation.get("cpu_over_50_ms", 0)) for generation in outcome.gc.values())
        settlement = outcome.settlement
        add("stations connected / failures", f"{len(fleet.handshakes):,} / {len(fleet.failures)}")
        add("restart storm: all booted after", f"{outcome.storm_seconds:.1f} s")
        add(
            "restart storm: CPU of server / simulator",
            " / ".join(f"{seconds:.1f} s" for seconds in outcome.storm_cpu_seconds),
        )
        add("handshake p50 / p99", f"{_percentile(fleet.handshakes, .5)*1000:.0f} / {_percentile(fleet.handshakes, .99)*1000:.0f} ms")  # fmt: skip
        add("BootNotification p50 / p99", f"{_percentile(fleet.boots, .5)*1000:.0f} / {_percentile(fleet.boots, .99)*1000:.0f} ms")  # fmt: skip
        add("steady-state messages (rate)", f"{messages:,} ({messages / max(ended - began, 1):.0f}/s)")
        add("steady-state round trip p50 / p99 / p99.9", f"{_percentile(steady, .5)*1000:.1f} / {_percentile(steady, .99)*1000:.1f} / {_percentile(steady, .999)*1000:.1f} ms")  # fmt: skip
        add("per-minute p99, best / worst", f"{min(minute_p99, default=float('nan')):.0f} / {max(minute_p99, default=float('nan')):.0f} ms")  # fmt: skip
        add("server CPU per message", f"{outcome.cpu_seconds / max(messages, 1) * 1000:.2f} ms")
        add(
            "the same with the window running on until every station left",
            f"{(outcome.cpu_seconds + outcome.departure_cpu_seconds) / max(messages, 1) * 1000:.2f} ms",
        )
        add("server CPU of the disconnect wave", f"{outcome.departure_cpu_seconds:.1f} s")
        add("GC: collections gen0 / gen1 / gen2", " / ".join(f"{int(outcome.gc.get(g, {}).get('collections', 0)):,}" for g in "012"))  # fmt: skip
        add("GC: longest pause / pauses over 50 ms (wall time)", f"{longest:.1f} ms / {over}")
        add("GC: longest / over 50 ms in the collector's CPU time", f"{longest_cpu:.1f} ms / {over_cpu}")
        add("GC: pauses over 50 ms in storm / steady / departure", _long_pauses_by_phase(outcome))
        for phase, began, ended in (("storm", "storm", "steady"), ("steady state", "steady", "departure")):
            simulator = [
                seconds
                for at, _, seconds in outcome.simulator_pauses
                if outcome.phases[began] <= at < outcome.phases[ended]
            ]
            add(
                f"simulator's own GC in the {phase} ({SIMULATOR_GC}): longest pause / pauses over 50 ms",
                f"{max(simulator, default=0.0) * 1000:.1f} ms / {sum(1 for seconds in simulator if seconds > 0.05)}",
            )
        add("resident memory before storm", f"{outcome.resident.get('before', 0) / 2**20:.0f} MiB")
        add(
            "memory per connection (connected minus before)",
            f"{connected / max(len(fleet.handshakes), 1) / 1024:.0f} KiB",
        )
        add("kept after every station left", f"{kept / 2**20:.0f} MiB ({kept / max(connected, 1):.0%} of the connections' memory)")  # fmt: skip
        connected_again = outcome.resident.get("connected again", 0) - outcome.resident.get("connected", 0)
        kept_again = outcome.resident.get("after again", 0) - outcome.resident.get("after", 0)
        add("second wave (every station back at once, 60 s of heartbeats): connected / failures / BootNotification p99", f"{len(outcome.again.handshakes):,} / {len(outcome.again.failures)} / {_percentile(outcome.again.boots, .99)*1000:.0f} ms")  # fmt: skip
        add("second wave: resident memory connected, over the first wave's connected", f"{connected_again / 2**20:+.0f} MiB")  # fmt: skip
        add("second wave: kept after it left, over what the first wave kept", f"{kept_again / 2**20:+.0f} MiB")  # fmt: skip
        blocks = " / ".join(f"{outcome.blocks.get(moment, 0):,}" for moment in ("before", "connected", "after"))
        # Counted by Python's own allocator only (core/serving.py).
        add("Python memory blocks before / connected / after", blocks if any(outcome.blocks.values()) else "not counted on this allocator")  # fmt: skip
        add("server's memory allocator", outcome.allocator)
        add("sessions started / stopped / settled / settled twice / left open", f"{fleet.sessions_started:,} / {fleet.sessions_stopped:,} / {settlement['settled']:,} / {settlement['settled_twice']} / {settlement['still_active']}")  # fmt: skip
        add("invoiced = operator credited (cents)", f"{settlement['invoiced']:,} = {settlement['operator_credited']:,}")
    header = "| figure | " + " | ".join(
        "before: defaults, deflate, pymalloc" if outcome.name == "before" else "now" for outcome in outcomes
    )
    failures = [
        failure for outcome in outcomes for failure in [*outcome.fleet.failures[:5], *outcome.again.failures[:5]]
    ]
    return "\n".join(
        [
            "## OCPP fleet on one server (issue 20, target 4)",
            "",
            f"{STATIONS:,} simulated stations (half 1.6J, half 2.0.1) against one uvicorn process (`core.serving`), "
            f"Celery worker, beat and the Tangle node beside it, for {SECONDS:.0f} s: all connect at once (restart "
            "storm), heartbeat every 30 s, one session each at a random moment with meter values every 10 s. Steady "
            "state from when every station has booted or failed (at least "
            f"{WARMUP_SECONDS:.0f} s after the storm began) until the first station leaves. Targets: steady p99 < 100 ms, BootNotification "
            "p99 < 2 s, ≤ 1.5 ms server CPU per message, no GC pause over 50 ms, every session settled once. Then "
            f"every station comes back at once for {SECOND_WAVE_SECONDS:.0f} s of heartbeats (the second wave) and "
            "leaves again: whether the memory the first wave left with the server process serves it again.",
            "",
            header + " |",
            "|---|" + "---|" * len(outcomes),
            *(f"| {label} | " + " | ".join(values) + " |" for label, values in rows.items()),
            "",
            *([f"First failures: {'; '.join(failures)}", ""] if failures else []),
        ]
    )
