"""Partition run: the portal on several hosts of one machine, with a network that drops, delays and splits.

`make partitions` (and the short `make partitions-short` in CI) runs it, as root. Each role gets a Linux network
namespace of its own with its own address on a private bridge this run creates (``flp<pid>br``, a /24 in 10.128/9
derived from the run's pid): HAProxy (``lb``) in front of two web hosts (``web1``, ``web2``), two Celery worker hosts
(``worker1``, ``worker2``), a beat host (``beat1``) and a spare one for the second beat (``beat2``), PostgreSQL (a
fresh cluster, ``initdb`` into a temporary directory), Redis (its own ``redis-server``) and the Tangle dev node. Every
process reaches the others only through these addresses; the portal's settings are the ones `make run` uses, given
nothing but addresses (see docs/deployment.md).

The load of bench/load.py (its users, its retries, its reconciliation) runs against the balancer's address while a
schedule injects network faults between namespaces, with ``iptables`` inside the namespaces (never in the machine's
own) and, for latency and loss, bench/netdelay.py behind an NFQUEUE rule (this kernel has no ``sch_netem``): see
`FULL` and `SHORT`. Afterwards the run reconciles the books as `make faults` does, adds the checks of this run (no
5xx of the portal's own, beat single across hosts) and writes its section of docs/reliability.md.

Everything the run creates carries its prefix: teardown runs in ``finally`` and on SIGINT/SIGTERM, kills every process
left in the run's namespaces, deletes them and the bridge, and checks that nothing is left; a later run first removes
what an interrupted one (whose pid is gone) left behind.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import (
    FaultEvent,
    RunResult,
    Stats,
    _backlog,
    checks_table,
    endpoint_table,
    own_errors_check,
    run_load,
)
from core.serving import web_server_command

BASE_DIR = Path(__file__).resolve().parents[1]
PREFIX = "flp"
LOG_ROOT = Path("/tmp/finlab-partitions")  # noqa: S108 - logs for whoever investigates a run
# Host number of each role on the run's /24 (.1 is the bridge: the load generator's side).
HOSTS = {
    "lb": 10,
    "web1": 11,
    "web2": 12,
    "worker1": 21,
    "worker2": 22,
    "beat1": 31,
    "beat2": 32,
    "pg": 41,
    "redis": 42,
    "tangle": 43,
}
LB_PORT, WEB_PORT, PG_PORT, REDIS_PORT, TANGLE_PORT = 8080, 8000, 5432, 6379, 14265
ORIGIN_HEADER = "X-Served-By"
BEAT_LEASE_SECONDS = 20


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check)


def in_ns(namespace: str, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", namespace, *command, check=check)


def _run_prefix(pid: int) -> str:
    return f"{PREFIX}{pid}"


def leftovers(*, only_dead: bool = True) -> dict[str, list[str]]:
    """Namespaces and bridges of partition runs (of runs whose process is gone, with ``only_dead``)."""

    def owner_gone(name: str) -> bool:
        match = re.match(rf"{PREFIX}(\d+)", name)
        return bool(match) and (not only_dead or not Path(f"/proc/{match.group(1)}").exists())

    namespaces = [line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line.strip()]
    bridges = [
        line.split(":")[1].strip().split("@")[0]
        for line in sh("ip", "-o", "link", "show", "type", "bridge").stdout.splitlines()
    ]
    return {
        "namespaces": [name for name in namespaces if name.startswith(PREFIX) and owner_gone(name)],
        "bridges": [name for name in bridges if name.startswith(PREFIX) and owner_gone(name)],
    }


def remove(namespaces: list[str], bridges: list[str]) -> None:
    """Kills every process inside ``namespaces``, deletes them (their veth pairs go with them) and ``bridges``."""
    for namespace in namespaces:
        for _ in range(20):
            pids = [int(pid) for pid in sh("ip", "netns", "pids", namespace, check=False).stdout.split()]
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        sh("ip", "netns", "delete", namespace, check=False)
    for bridge in bridges:
        sh("ip", "link", "delete", bridge, check=False)


def stray_processes() -> list[str]:
    """Processes that belong to a partition run whose own process is gone (they name its log directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            text = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        for match in re.finditer(rb"finlab-partitions/" + PREFIX.encode() + rb"(\d+)", text):
            if not Path(f"/proc/{match.group(1).decode()}").exists():
                found.append(f"pid {proc.name} of run {PREFIX}{match.group(1).decode()}")
                break
    return found


def clean_leftovers() -> dict[str, list[str]]:
    """Removes what an interrupted earlier run left behind (runs whose process is gone); returns what it removed."""
    found = leftovers(only_dead=True)
    remove(found["namespaces"], found["bridges"])
    for directory in LOG_ROOT.glob(f"{PREFIX}*/pgdata"):
        match = re.match(rf"{PREFIX}(\d+)", directory.parent.name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            shutil.rmtree(directory, ignore_errors=True)
    return found


class Bed:
    """The run's namespaces, bridge and processes. A context manager: everything is removed on exit."""

    def __init__(self) -> None:
        pid = os.getpid()
        self.run = _run_prefix(pid)
        self.bridge = f"{self.run}br"
        self.subnet = f"10.{128 + (pid >> 8) % 128}.{pid % 256}"
        self.gateway = f"{self.subnet}.1"
        self.logs = LOG_ROOT / self.run
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.namespaces: list[str] = []
        self.closing = threading.Event()
        self.final_balancer = ""
        self.pg_bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]

    # --- addresses ----------------------------------------------------------------------------------------------

    def address(self, role: str) -> str:
        return f"{self.subnet}.{HOSTS[role]}"

    def namespace(self, role: str) -> str:
        return f"{self.run}-{role}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address('lb')}:{LB_PORT}"

    def services(self) -> dict[str, str]:
        return {
            "admin_url": f"postgres://postgres@{self.address('pg')}:{PG_PORT}/postgres",
            "redis_url": f"redis://{self.address('redis')}:{REDIS_PORT}/1",
            "broker_url": f"redis://{self.address('redis')}:{REDIS_PORT}/0",
        }

    # --- network ------------------------------------------------------------------------------------------------

    def build_network(self) -> None:
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for role, number in HOSTS.items():
            namespace, outside, inside = self.namespace(role), f"{self.run}h{number}", f"{self.run}n{number}"
            sh("ip", "netns", "add", namespace)
            self.namespaces.append(namespace)
            sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            sh("ip", "link", "set", inside, "netns", namespace)
            sh("ip", "-n", namespace, "link", "set", inside, "name", "eth0")
            sh("ip", "-n", namespace, "addr", "add", f"{self.address(role)}/24", "dev", "eth0")
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
            sh("ip", "-n", namespace, "link", "set", "eth0", "up")
            sh("ip", "link", "set", outside, "master", self.bridge)
            sh("ip", "link", "set", outside, "up")

    # --- processes ----------------------------------------------------------------------------------------------

    def spawn(self, name: str, role: str, command: list[str], *, env: dict[str, str] | None = None) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace(role), *command],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def stop(self, name: str, *, sig: signal.Signals = signal.SIGTERM) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def start_infrastructure(self) -> None:
        """PostgreSQL, Redis and the Tangle node, each in its namespace, listening only on its address."""
        self.logs.mkdir(parents=True, exist_ok=True)
        pgdata = self.logs / "pgdata"
        shutil.rmtree(pgdata, ignore_errors=True)
        pgdata.mkdir()
        shutil.chown(pgdata, "postgres", "postgres")
        for path in (self.logs, LOG_ROOT):
            path.chmod(0o755)
        sh("runuser", "-u", "postgres", "--", str(self.pg_bin / "initdb"), "-D", str(pgdata), "-U", "postgres",
           "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        (pgdata / "pg_hba.conf").write_text(f"local all all trust\nhost all all {self.subnet}.0/24 trust\n")
        self.spawn(
            "postgres",
            "pg",
            ["runuser", "-u", "postgres", "--", str(self.pg_bin / "postgres"), "-D", str(pgdata),
             "-c", f"listen_addresses={self.address('pg')}", "-c", f"port={PG_PORT}",
             "-c", f"unix_socket_directories={pgdata}", "-c", "max_connections=200", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        )  # fmt: skip
        self.spawn(
            "redis",
            "redis",
            ["redis-server", "--bind", self.address("redis"), "--port", str(REDIS_PORT), "--save", "",
             "--appendonly", "no", "--maxmemory-policy", "noeviction", "--protected-mode", "no",
             "--dir", str(self.logs)],
        )  # fmt: skip
        self.spawn(
            "tangle",
            "tangle",
            [sys.executable, "-m", "identity.tangle.devnode", "--host", self.address("tangle"), "--port",
             str(TANGLE_PORT), "--data-dir", str(self.logs / "tangle")],
        )  # fmt: skip
        for role, port in (("pg", PG_PORT), ("redis", REDIS_PORT), ("tangle", TANGLE_PORT)):
            wait_for(self.address(role), port, what=role, log=self.logs)

    def portal_environment(self, shared: dict[str, str], role: str) -> dict[str, str]:
        """What every portal process is told: addresses, and nothing else that differs from `make run`."""
        var = self.logs / f"var-{role}"
        var.mkdir(exist_ok=True)
        lb = f"{self.address('lb')}:{LB_PORT}"
        return shared | {
            "DJANGO_SETTINGS_MODULE": "portal.settings.local",
            "PORTAL_HOST": lb,
            "PORTAL_BASE_URL": f"http://{lb}",
            "DJANGO_ALLOWED_HOSTS": ",".join(self.address(r) for r in ("lb", "web1", "web2")),
            "PORTAL_TRUSTED_PROXIES": self.address("lb"),
            "TANGLE_NODE_URL": f"http://{self.address('tangle')}:{TANGLE_PORT}",
            "OUTBOUND_HTTP_ALLOWED_NETWORKS": f"{self.subnet}.0/24",
            "PORTAL_VAR_DIR": str(var),
            "BEAT_LEASE_SECONDS": str(BEAT_LEASE_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }

    def portal_command(self, role: str) -> list[str]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "portal"]
        if role.startswith("web"):
            command = web_server_command(host=self.address(role), port=WEB_PORT, workers=1)
            return [*command, "--timeout-graceful-shutdown", "5"]
        if role.startswith("worker"):
            return [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "1", "--hostname", f"{role}@%h",
                    "--without-gossip", "--without-mingle"]  # fmt: skip
        return [*celery, "beat", "--loglevel", "INFO"]

    def start_portal(self, role: str, shared: dict[str, str]) -> None:
        self.spawn(role, role, self.portal_command(role), env=self.portal_environment(shared, role))

    def start_balancer(self) -> None:
        """HAProxy: web hosts health-checked on /health/ready; when none is ready (a dependency every host shares is
        down, e.g. the Tangle node), it falls back to the hosts that are alive rather than refuse everyone."""
        lb = f"{self.address('lb')}:{LB_PORT}"
        servers_ready = "\n".join(f"    server {r} {self.address(r)}:{WEB_PORT} check" for r in ("web1", "web2"))
        config = f"""global
    maxconn 4000
    stats socket {self.logs}/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 30s
    timeout check 5s
    timeout tunnel 1h
    retries 3
    option redispatch
    option forwardfor
    default-server inter 1s fall 2 rise 2

frontend portal
    bind {lb}
    use_backend ready if {{ nbsrv(ready) gt 0 }}
    default_backend alive

backend ready
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health/ready ver HTTP/1.1 hdr Host {self.address("lb")}
    http-check expect status 200
    http-response set-header {ORIGIN_HEADER} %s
{servers_ready}

backend alive
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health/live ver HTTP/1.1 hdr Host {self.address("lb")}
    http-check expect status 200
    http-response set-header {ORIGIN_HEADER} %s
{servers_ready}
"""
        path = self.logs / "haproxy.cfg"
        path.write_text(config)
        sh("haproxy", "-c", "-q", "-f", str(path))
        self.spawn("lb", "lb", ["haproxy", "-W", "-db", "-f", str(path)])
        wait_for(self.address("lb"), LB_PORT, what="balancer", log=self.logs)

    def balancer_state(self) -> dict[str, dict[str, str]]:
        """Per server of the `ready` backend: status, checks failed, transitions to down, seconds down."""
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(5)
            client.connect(str(self.logs / "haproxy.sock"))
            client.sendall(b"show stat\n")
            data = b""
            while chunk := client.recv(65536):
                data += chunk
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {
            f"{row['pxname']}/{row['svname']}": {k: row[k] for k in ("status", "chkfail", "chkdown", "downtime")}
            for row in rows
            if row["svname"] in ("web1", "web2")
        }

    # --- faults (rules inside the namespaces only) ----------------------------------------------------------------

    def cut(self, role: str, *peers: str) -> None:
        """Drops every packet between ``role`` and ``peers`` (all hosts with none), in both directions."""
        namespace = self.namespace(role)
        if not peers:
            in_ns(namespace, "iptables", "-w", "-I", "INPUT", "-i", "eth0", "-j", "DROP")
            in_ns(namespace, "iptables", "-w", "-I", "OUTPUT", "-o", "eth0", "-j", "DROP")
            return
        for peer in peers:
            in_ns(namespace, "iptables", "-w", "-I", "INPUT", "-s", self.address(peer), "-j", "DROP")
            in_ns(namespace, "iptables", "-w", "-I", "OUTPUT", "-d", self.address(peer), "-j", "DROP")

    def heal(self, role: str) -> None:
        in_ns(self.namespace(role), "iptables", "-w", "-F", "INPUT")
        in_ns(self.namespace(role), "iptables", "-w", "-F", "OUTPUT")

    def degrade(self, role: str, peer: str, *, delay_ms: int, jitter_ms: int, loss_percent: float) -> None:
        """Latency and loss on every packet between ``role`` and ``peer``, both ways (``delay_ms`` ± ``jitter_ms`` and
        ``loss_percent`` each way). This kernel has no ``sch_netem`` (``tc qdisc add ... netem`` answers "unknown
        qdisc"), so the packets go through NFQUEUE to bench/netdelay.py inside the namespace, which holds each one for
        its delay; ``--queue-bypass`` lets them through untouched should it be gone."""
        namespace, queue = self.namespace(role), 7
        self.spawn(f"netdelay-{role}", role,
                   [sys.executable, "-m", "bench.netdelay", "--queue", str(queue), "--delay-ms", str(delay_ms),
                    "--jitter-ms", str(jitter_ms), "--loss-percent", str(loss_percent)])  # fmt: skip
        time.sleep(1)  # bound to its queue before the first packet is sent there
        for chain, direction in (("OUTPUT", "-d"), ("INPUT", "-s")):
            in_ns(namespace, "iptables", "-w", "-I", chain, direction, self.address(peer), "-j", "NFQUEUE",
                  "--queue-num", str(queue), "--queue-bypass")  # fmt: skip

    def restore(self, role: str) -> None:
        self.heal(role)
        self.stop(f"netdelay-{role}")

    # --- lifecycle --------------------------------------------------------------------------------------------------

    def __enter__(self) -> Bed:
        removed = clean_leftovers()
        if removed["namespaces"] or removed["bridges"]:
            print(f"removed leftovers of an interrupted run: {removed}", flush=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self.build_network()
            self.start_infrastructure()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        _shield()
        self.closing.set()
        for name in [n for n in self.processes if n not in ("postgres", "redis")]:
            self.stop(name)
        for name in list(self.processes):
            self.stop(name)
        remove(self.namespaces, [self.bridge])
        shutil.rmtree(self.logs / "pgdata", ignore_errors=True)

    def left_behind(self) -> list[str]:
        """What of this run still exists: namespaces, the bridge, processes. Empty after a clean teardown."""
        found = leftovers(only_dead=False)
        mine = [n for n in found["namespaces"] + found["bridges"] if n.startswith(self.run + "-") or n == self.bridge]
        alive = [f"pid {p.pid}" for p in self.processes.values() if p.poll() is None]
        return mine + alive


class PortalHosts:
    """The portal's processes on the bed's hosts, shaped like bench.stack.Stack for bench.load.run_load."""

    def __init__(self, bed: Bed, shared: dict[str, str]) -> None:
        self.bed = bed
        self.shared = shared
        self.base_url = bed.base_url
        self.environment = bed.portal_environment(shared, "load")

    def start(self, role: str) -> None:
        self.bed.start_portal(role, self.shared)

    def __enter__(self) -> PortalHosts:
        for role in ("web1", "web2", "worker1", "worker2", "beat1"):
            self.start(role)
        for role in ("web1", "web2"):
            wait_for(self.bed.address(role), WEB_PORT, what=role, log=self.bed.logs, timeout=120)
        self.bed.start_balancer()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.base_url}/health/ready", timeout=5) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return self
            time.sleep(0.5)
        raise RuntimeError(f"the balancer found no ready web host; see {self.bed.logs}")

    def __exit__(self, *exc_info: object) -> None:
        _shield()
        self.bed.final_balancer = _state_text(self.bed)
        for role in ("lb", "web1", "web2", "beat1", "beat2", "worker1", "worker2"):
            self.bed.stop(role)


def wait_for(host: str, port: int, *, what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} does not listen on {host}:{port} after {timeout:.0f} s; see {log}")


# --- the fault schedules ---------------------------------------------------------------------------------------------


@dataclass
class Observation:
    """What the portal did during one fault, in figures."""

    fault: str
    began: float
    ended: float = 0.0
    figures: list[str] = field(default_factory=list)


class Schedule:
    """Runs ``steps`` while the load runs; each step injects a fault, waits, heals, and records what happened."""

    def __init__(self, bed: Bed, steps: list[Callable[[Schedule], None]]) -> None:
        self.bed = bed
        self.steps = steps
        self.observations: list[Observation] = []
        self.began = 0.0
        self.stop: threading.Event | None = None
        self.events: list[FaultEvent] = []
        self.stats = None

    def now(self) -> float:
        return time.monotonic() - self.began

    def wall(self, seconds: float) -> float:
        """The epoch time of ``seconds`` into the run (the hosts' logs carry wall-clock times)."""
        return time.time() - self.now() + seconds

    def log_lines(self, role: str, began: float, ended: float) -> list[tuple[float, str]]:
        """(seconds into the run, line) of the lines of ``role``'s log stamped between ``began`` and ``ended``."""
        path = self.bed.logs / f"{role}.log"
        found = []
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            match = _STAMP.search(line)
            if match:
                at = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() - self.wall(0)
                if began <= at <= ended:
                    found.append((at, line))
        return found

    def worker_activity(self, role: str, began: float, ended: float) -> str:
        """Tasks ``role`` received between ``began`` and ``ended``, and its longest task finishing since ``began``."""
        received = sum(1 for _, line in self.log_lines(role, began, ended) if "] received" in line)
        longest = (0.0, "")
        for _, line in self.log_lines(role, began, self.now()):
            match = re.search(r"Task (\S+)\[[^]]+\] succeeded in ([\d.]+)s", line)
            if match and float(match.group(2)) > longest[0]:
                longest = (float(match.group(2)), match.group(1))
        slowest = f", its longest task `{longest[1]}` {longest[0]:.1f} s" if longest[1] else ""
        return f"{role} received {received} tasks{slowest}"

    def at(self, seconds: float) -> bool:
        while self.now() < seconds:
            if self.bed.closing.is_set() or (self.stop is not None and self.stop.wait(0.2)):
                return False
        return not self.bed.closing.is_set()

    def note(self, fault: str, detail: str) -> None:
        self.events.append(FaultEvent(self.now(), fault, detail))
        print(f"[{self.now():6.1f} s] {fault}: {detail}", flush=True)

    def __call__(self, stack: PortalHosts, *, began: float, stop: threading.Event, events: list[FaultEvent]) -> None:
        self.began, self.stop, self.events, self.stack = began, stop, events, stack
        threads = [threading.Thread(target=step, args=(self,), daemon=True) for step in self.steps]  # may overlap
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive() and not self.bed.closing.is_set():
                thread.join(timeout=0.5)


def _served_by(schedule: Schedule, began: float, ended: float) -> dict[str, int]:
    counts: dict[str, int] = {}
    stats = schedule.stats
    with stats.lock:
        for at, origin in stats.served:
            if began <= at < ended:
                counts[origin] = counts.get(origin, 0) + 1
    return counts


def _latencies_since(schedule: Schedule, count_before: dict[str, int]) -> list[float]:
    stats = schedule.stats
    with stats.lock:
        return [v for label, values in stats.latencies.items() for v in values[count_before.get(label, 0) :]]


def _counts(schedule: Schedule) -> dict[str, int]:
    with schedule.stats.lock:
        return {label: len(values) for label, values in schedule.stats.latencies.items()}


def _percentiles(values: list[float]) -> str:
    if not values:
        return "no requests"
    ordered = sorted(values)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{len(values):,} requests, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"


def _backlog_text() -> str:
    return ", ".join(f"{k} {v}" for k, v in _backlog().items())


def worker_cut_from_redis(start: float, seconds: float) -> Callable[[Schedule], None]:
    def step(s: Schedule) -> None:
        if not s.at(start):
            return
        observation = Observation("worker1 cut off from Redis", s.now())
        s.bed.cut("worker1", "redis")
        s.note(observation.fault, f"iptables DROP between worker1 and Redis for {seconds:.0f} s")
        observation.figures.append(f"backlog at the cut: {_backlog_text()}")
        s.at(start + seconds)
        s.bed.heal("worker1")
        observation.figures.append(f"backlog when healed: {_backlog_text()}")
        s.note("worker1 reconnected to Redis", "rules removed")
        s.at(start + seconds + 30)
        observation.figures.append(f"backlog 30 s later: {_backlog_text()}")
        observation.figures.append(
            "while cut off: "
            + "; ".join(s.worker_activity(role, start + 1, start + seconds) for role in ("worker1", "worker2"))
        )
        observation.ended = s.now()
        s.observations.append(observation)

    return step


def worker_cut_from_postgres(start: float, seconds: float) -> Callable[[Schedule], None]:
    """Waits (from ``start``) until dealer settlements are open, so the worker is cut in the middle of a batch."""

    def step(s: Schedule) -> None:
        from payments.models import SettlementItem

        if not s.at(start):
            return
        while SettlementItem.objects.exclude(state__in=["settled", "rejected"]).count() == 0 and s.at(s.now() + 0.2):
            pass
        open_items = SettlementItem.objects.exclude(state__in=["settled", "rejected"]).count()
        observation = Observation("worker2 cut off from PostgreSQL in a settlement batch", s.now())
        s.bed.cut("worker2", "pg")
        s.note(observation.fault, f"iptables DROP between worker2 and PostgreSQL for {seconds:.0f} s")
        observation.figures.append(f"{open_items} settlement items open at the cut; backlog: {_backlog_text()}")
        cut_at = s.now()
        s.at(cut_at + seconds)
        s.bed.heal("worker2")
        observation.figures.append(f"backlog when healed: {_backlog_text()}")
        s.note("worker2 reconnected to PostgreSQL", "rules removed")
        s.at(cut_at + seconds + 30)
        observation.figures.append(f"backlog 30 s later: {_backlog_text()}")
        observation.figures.append(
            "while cut off: "
            + "; ".join(s.worker_activity(role, cut_at - 1, cut_at + seconds) for role in ("worker1", "worker2"))
        )
        observation.ended = s.now()
        s.observations.append(observation)

    return step


def web_isolated(start: float, seconds: float) -> Callable[[Schedule], None]:
    def step(s: Schedule) -> None:
        if not s.at(start):
            return
        observation = Observation("web1 cut off from everything", s.now())
        before = _served_by(s, start - 20, start)
        s.bed.cut("web1")
        s.note(observation.fault, f"iptables DROP of every packet in and out of web1 for {seconds:.0f} s")
        s.at(start + seconds / 2)
        observation.figures.append(f"balancer mid-fault: {_state_text(s.bed)}")
        s.at(start + seconds)
        during = _served_by(s, start + 3, start + seconds)  # the balancer takes 2 failed checks of 1 s to mark it
        s.bed.heal("web1")
        s.note("web1 reconnected", "rules removed")
        s.at(start + seconds + 15)
        after = _served_by(s, start + seconds + 5, start + seconds + 15)
        observation.figures += [
            f"answers per web host in the 20 s before: {_dict_text(before)}",
            f"while cut off (from 3 s after the cut): {_dict_text(during)}",
            f"5-15 s after healing: {_dict_text(after)}",
            f"balancer afterwards: {_state_text(s.bed)}",
        ]
        observation.ended = s.now()
        s.observations.append(observation)

    return step


def web_postgres_degraded(start: float, seconds: float) -> Callable[[Schedule], None]:
    def step(s: Schedule) -> None:
        if not s.at(start - 30):
            return
        counts = _counts(s)
        if not s.at(start):
            return
        baseline = _percentiles(_latencies_since(s, counts))
        observation = Observation("200 ms ± 50 ms and 5% loss between web hosts and PostgreSQL", s.now())
        for role in ("web1", "web2"):
            s.bed.degrade(role, "pg", delay_ms=100, jitter_ms=25, loss_percent=2.5)
        s.note(
            "web ↔ PostgreSQL degraded",
            f"for {seconds:.0f} s, every packet between each web host and PostgreSQL held 100 ± 25 ms and 2.5% of "
            "them dropped, each way (a round trip of 200 ms ± 35 ms, 5% loss)",
        )
        counts = _counts(s)
        s.at(start + seconds)
        during = _percentiles(_latencies_since(s, counts))
        for role in ("web1", "web2"):
            s.bed.restore(role)
        s.note("web ↔ PostgreSQL restored", "delay and loss removed")
        observation.figures += [f"30 s before: {baseline}", f"during: {during}", f"balancer: {_state_text(s.bed)}"]
        observation.ended = s.now()
        s.observations.append(observation)

    return step


def tangle_unreachable(start: float, seconds: float) -> Callable[[Schedule], None]:
    def step(s: Schedule) -> None:
        if not s.at(start):
            return
        observation = Observation("Tangle node unreachable", s.now())
        s.bed.cut("tangle")
        s.note(observation.fault, f"iptables DROP of every packet in and out of the node for {seconds:.0f} s")
        s.at(start + seconds / 2)
        observation.figures.append(f"mid-fault backlog: {_backlog_text()}; balancer: {_state_text(s.bed)}")
        s.at(start + seconds)
        observation.figures.append(f"backlog when healed: {_backlog_text()}")
        s.bed.heal("tangle")
        s.note("Tangle node reachable", "rules removed")
        s.at(start + seconds + 20)
        observation.figures.append(f"backlog 20 s later: {_backlog_text()}")
        observation.ended = s.now()
        s.observations.append(observation)

    return step


def beat_isolated(start: float, seconds: float) -> Callable[[Schedule], None]:
    def step(s: Schedule) -> None:
        if not s.at(start):
            return
        observation = Observation("beat1's host isolated, a second beat started on beat2", s.now())
        s.bed.cut("beat1")
        s.note(observation.fault, f"iptables DROP of every packet in and out of beat1 for {seconds:.0f} s")
        s.stack.start("beat2")
        s.note("second beat started", "on beat2, same settings")
        s.at(start + seconds)
        s.bed.heal("beat1")
        s.note("beat1 reconnected", "rules removed; both beats now run")
        s.at(start + seconds + 30)
        observation.ended = s.now()
        lines = [(at, role, line) for role in ("beat1", "beat2") for at, line in s.log_lines(role, start, s.now())]
        for at, role, line in sorted(lines):
            match = re.search(r"beat \S+:? (holds the lease.*|lost the lease.*|\S+ not sent.*|.*skipped)$", line)
            if match:
                observation.figures.append(f"{at:.0f} s {role}: {match.group(1)}")
        after = [role for at, role, _ in beat_sends(s.bed.logs) if at.timestamp() - s.wall(0) > start + seconds]
        observation.figures.append(
            f"scheduled sends from beat1's return to the end of the run: beat1 {after.count('beat1')}, "
            f"beat2 {after.count('beat2')}"
        )
        s.observations.append(observation)

    return step


def _dict_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def _state_text(bed: Bed) -> str:
    try:
        state = bed.balancer_state()
    except OSError as error:
        return f"(stats socket unreadable: {error})"
    return "; ".join(
        f"{name} {row['status']} ({row['chkdown']} times down, {row['downtime']} s down)"
        for name, row in sorted(state.items())
        if name.startswith("ready/")
    )


FULL_SECONDS = 405
FULL = [
    worker_cut_from_redis(10, 30),
    worker_cut_from_postgres(65, 30),
    web_isolated(125, 30),
    web_postgres_degraded(190, 60),
    tangle_unreachable(260, 120),
    beat_isolated(265, 60),
]
SHORT_SECONDS = 60
SHORT = [web_isolated(15, 25)]


# --- beat: single across hosts --------------------------------------------------------------------------------------

_STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})")
_BEAT_LINE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}).*beat (\S+) sends (\S+)")


def beat_sends(logs: Path) -> list[tuple[dt.datetime, str, str]]:
    """(time, beat host, entry) of every scheduled send, from the beats' logs."""
    sends = set()
    for role in ("beat1", "beat2"):
        path = logs / f"{role}.log"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            match = _BEAT_LINE.search(line)
            if match:
                at = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
                sends.add((at, role, match.group(3)))
    return sorted(sends)


def beat_check(logs: Path, *, failover: bool) -> tuple[tuple[str, bool, str], str]:
    """No entry sent twice within 90% of its interval (by either beat); and with ``failover``, both beats sent."""
    from django.conf import settings

    sends = beat_sends(logs)
    intervals = {
        name: float(entry["schedule"])
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if isinstance(entry["schedule"], int | float)
    }
    by_entry: dict[str, list[tuple[dt.datetime, str]]] = {}
    for at, role, name in sends:
        by_entry.setdefault(name, []).append((at, role))
    twice, lines = 0, []
    for name, runs in sorted(by_entry.items()):
        gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(runs)]
        interval = intervals.get(name, 60.0)
        twice += sum(1 for gap in gaps if gap < 0.9 * interval)
        hosts = {role: sum(1 for _, r in runs if r == role) for role in ("beat1", "beat2")}
        lines.append(
            f"`{name}` every {interval:.0f} s: {len(runs)} sends (beat1 {hosts['beat1']}, beat2 {hosts['beat2']}), "
            f"shortest gap {min(gaps):.1f} s"
            if gaps
            else f"`{name}`: {len(runs)} send"
        )
    by_host = {role: sum(1 for _, r, _ in sends if r == role) for role in ("beat1", "beat2")}
    ok = twice == 0 and bool(sends) and (not failover or (by_host["beat1"] > 0 and by_host["beat2"] > 0))
    return (
        (
            "scheduled work ran once: no entry sent twice within its interval, across both beats",
            ok,
            f"{len(sends)} sends (beat1 {by_host['beat1']}, beat2 {by_host['beat2']}); {twice} sent twice",
        ),
        "; ".join(lines),
    )


# --- the run and its report ------------------------------------------------------------------------------------------


def run(*, seconds: float, steps: list[Callable[[Schedule], None]], report: str, section: str) -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    bed = Bed()
    schedule = Schedule(bed, steps)
    schedule.stats = Stats(origin_header=ORIGIN_HEADER)
    try:
        with bed:
            result = run_load(
                seconds=seconds,
                faults=True,
                services=bed.services(),
                stack_factory=lambda shared: PortalHosts(bed, shared),
                schedule=schedule,
                stats=schedule.stats,
            )
            beat = beat_check(bed.logs, failover=any(o.fault.startswith("beat1") for o in schedule.observations))
            balancer = bed.final_balancer
        leftover = bed.left_behind()
    finally:
        if bed.namespaces and bed.left_behind():  # an interrupted teardown: once more
            bed.__exit__()
    checks = [*result.checks, own_errors_check(result.stats), beat[0]]
    nothing_left = not leftover
    checks.append(
        (
            "nothing left behind: the run's namespaces, bridge and processes are gone",
            nothing_left,
            "none" if nothing_left else ", ".join(leftover),
        )
    )
    text = _report(bed, result, schedule, checks, beat[1], balancer, seconds=seconds, section=section)
    print(text)
    if report:
        from bench.__main__ import _replace_section

        target = Path(report)
        existing = target.read_text() if target.exists() else ""
        target.write_text(_replace_section(existing, section, text) if existing else text)
    failed = [what for what, ok, _ in checks if not ok]
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0


def _shield() -> None:
    """A second Ctrl-C or SIGTERM must not cut the teardown short (it is bounded: each process gets 20 s)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _report(
    bed: Bed,
    result: RunResult,
    schedule: Schedule,
    checks: list[tuple[str, bool, str]],
    beat_lines: str,
    balancer: str,
    *,
    seconds: float,
    section: str,
) -> str:
    served = {}
    for _, origin in result.stats.served:
        served[origin] = served.get(origin, 0) + 1
    lines = [
        section,
        "",
        f"`{' '.join(['python -m bench.partitions', *sys.argv[1:]])}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        "as root, on a 2-core machine shared with other work at the same time (latencies are those of a busy "
        "machine, the reconciliation is exact regardless).",
        "",
        f"Hosts, each a network namespace on the run's bridge ({bed.subnet}.0/24): HAProxy 2.6 (`lb`, health checks "
        "on `/health/ready` every second, 2 failures mark a host down; with no host ready it falls back to hosts "
        "answering `/health/live`), `web1` and `web2` (uvicorn, one process each), `worker1` and `worker2` (Celery, "
        "one pool process each), `beat1` (and `beat2` for the failover), PostgreSQL (a fresh cluster), Redis, the "
        "Tangle dev node. The load generator sits on the bridge and talks only to the balancer. Same users as "
        "`make load`.",
        "",
        f"Load ran {result.seconds:.0f} s; the portal drained its backlog in {result.drained_in:.0f} s afterwards. "
        f"Answers per web host over the run: {_dict_text(served)}.",
        "",
        "| at | event | detail |",
        "|---|---|---|",
        *[f"| {e.at_seconds:.0f} s | {e.fault} | {e.detail} |" for e in result.events],
        "",
        "What the portal did:",
        "",
    ]
    for observation in schedule.observations:
        lines.append(
            f"- **{observation.fault}** ({observation.began:.0f} to {observation.ended:.0f} s): "
            + "; ".join(observation.figures)
            + "."
        )
    if beat_lines:
        lines.append(f"- **Beat sends over the run**: {beat_lines}.")
    lines += [
        f"- **Balancer at the end**: {balancer}.",
        "",
        "Requests during the run (failed attempts include answers the balancer gave while no host could serve, and "
        "the 503 of `/health/ready` while a dependency was down; every client retried until answered):",
        "",
        *endpoint_table(result),
        "",
        "Reconciliation after the run:",
        "",
        *checks_table(RunResult(result.seconds, result.stats, result.books, result.events, result.drained_in, checks)),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="one fault in 60 s (CI)")
    parser.add_argument("--seconds", type=float, default=0, help="load duration (default: that of the schedule)")
    parser.add_argument("--report", default="", help="replace the section in this Markdown file")
    parser.add_argument("--clean", action="store_true", help="only remove leftovers of interrupted runs")
    parser.add_argument(
        "--verify-clean",
        action="store_true",
        help="exit 1 if a finished or interrupted run left a namespace, bridge or process behind",
    )
    arguments = parser.parse_args()
    if os.geteuid() != 0:
        print("the partition bed needs root (network namespaces, iptables, tc)", file=sys.stderr)
        return 2
    if arguments.clean:
        print(clean_leftovers())
        return 0
    if arguments.verify_clean:
        found = leftovers(only_dead=True)
        strays = stray_processes()
        print(
            f"namespaces: {found['namespaces'] or 'none'}; bridges: {found['bridges'] or 'none'}; "
            f"processes: {strays or 'none'}"
        )
        return 1 if found["namespaces"] or found["bridges"] or strays else 0
    steps, seconds = (SHORT, SHORT_SECONDS) if arguments.short else (FULL, FULL_SECONDS)
    section = "## Last partition run (short, CI)" if arguments.short else "## Last partition run"
    tempfile.tempdir = None
    return run(seconds=arguments.seconds or seconds, steps=steps, report=arguments.report, section=section)


if __name__ == "__main__":
    raise SystemExit(main())
