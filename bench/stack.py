"""The whole portal as child processes on loopback, for the load and fault runs: web server, Celery worker, beat and
the Tangle dev node, against the machine's PostgreSQL and Redis.

Each process can be killed, stopped and started again on its own, which is what the fault run does to it. Every
process runs in its own process group, so that killing the worker also kills its pool children, exactly as a crashed
container would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.serving import web_server_command

BASE_DIR = Path(__file__).resolve().parents[1]
# Logs for whoever investigates a run, and the Tangle node's data; BENCH_LOAD_LOG_DIR for a run beside another one.
LOG_DIR = Path(os.environ.get("BENCH_LOAD_LOG_DIR", "/tmp/finlab-load"))  # noqa: S108
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


class Stack:
    """The portal's processes. ``environment`` holds the database, broker and node URLs every process shares."""

    def __init__(self, *, environment: dict[str, str], web_workers: int, worker_concurrency: int) -> None:
        self.web_port = free_port()
        self.tangle_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.web_workers = web_workers
        self.worker_concurrency = worker_concurrency
        self.environment = environment | {
            "PORTAL_BASE_URL": self.base_url,
            "PORTAL_HOST": f"127.0.0.1:{self.web_port}",
            "TANGLE_NODE_URL": f"http://127.0.0.1:{self.tangle_port}",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        LOG_DIR.mkdir(exist_ok=True)

    def commands(self) -> dict[str, list[str]]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "portal"]
        return {
            "tangle": [
                python, "-m", "identity.tangle.devnode", "--host", "127.0.0.1", "--port", str(self.tangle_port),
                "--data-dir", str(LOG_DIR / "tangle"),
            ],
            "web": web_server_command(host="127.0.0.1", port=self.web_port, workers=self.web_workers),
            "worker": [
                *celery, "worker", "--loglevel", "WARNING", "--concurrency", str(self.worker_concurrency),
                "--hostname", "load@%h",
            ],
            "beat": [*celery, "beat", "--loglevel", "WARNING", "--schedule", str(LOG_DIR / "celerybeat-schedule")],
        }  # fmt: skip

    def start(self, name: str) -> None:
        log = (LOG_DIR / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            self.commands()[name],
            cwd=BASE_DIR,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if name == "web":
            self.wait_until_ready()
        elif name == "tangle":
            wait_for_port(self.tangle_port)

    def kill(self, name: str, *, sig: signal.Signals = signal.SIGKILL) -> None:
        """Sends ``sig`` to the whole process group and waits for the leader to exit."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if sig != signal.SIGKILL:  # pool children of a gracefully stopped leader are gone; make sure of it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def wait_until_ready(self, *, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/health/live", timeout=2):  # noqa: S310 - loopback
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the web server did not answer within {timeout:.0f} s; see {LOG_DIR / 'web.log'}")

    def __enter__(self) -> Stack:
        for name in ("tangle", "web", "worker", "beat"):
            self.start(name)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name in list(self.processes):
            self.kill(name, sig=signal.SIGTERM)


def redis_restart() -> float:
    """Shuts the machine's Redis down (it keeps nothing on disk: every queued message is lost) and starts it again;
    returns the seconds it was down."""
    began = time.monotonic()
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True, check=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _redis_answers():
        time.sleep(0.1)
    time.sleep(2)  # a short outage, as a restart after a crash would be
    subprocess.run(REDIS_START, check=True, capture_output=True)
    while not _redis_answers():
        time.sleep(0.1)
    return time.monotonic() - began


def _redis_answers() -> bool:
    result = subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True, text=True, check=False)
    return result.stdout.strip() == "PONG"
