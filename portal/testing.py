"""Test helpers that start real processes: a Celery worker on Redis against the test database."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from core.testing import PROCESS_START_TIMEOUT_SECONDS, output_size, process_start_failure

BASE_DIR = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """The URL of the database pytest-django created, so that a child process sees the same rows."""
    database = connection.settings_dict
    user = database.get("USER") or "postgres"
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{database['NAME']}"


PRODUCTION_SECRETS = {
    "PORTAL_HOST": "portal.finlab.example",
    "PAYMENTS_QR_SIGNING_KEY": "bW9ja19xcl9zaWduaW5nX2tleV8zMl9ieXRlc19fXyE",
    "PAYMENTS_SANDBOX_WEBHOOK_SECRET": "webhook-secret-of-the-acquirer-0123456789",
    "PAYMENTS_SEPA_IBAN": "DE02120300000000202051",
    "PAYMENTS_SEPA_BIC": "BYLADEM1001",
    "LEASING_SEPA_CREDITOR_IBAN": "DE02120300000000202051",
    "LEASING_SEPA_CREDITOR_BIC": "BYLADEM1001",
    "LEASING_SEPA_CREDITOR_ID": "DE98ZZZ09999999999",
}


def production_environment(*, without: tuple[str, ...] = ()) -> dict[str, str]:
    """A production-like environment for `manage.py` under `portal.settings.production`, minus ``without``."""
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": "p" * 20 + "-production-like-secret-with-enough-entropy-0123456789abcdef",
        "DJANGO_ALLOWED_HOSTS": "portal.finlab.example",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/finlab",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "PORTAL_BASE_URL": "https://portal.finlab.example",
        **PRODUCTION_SECRETS,
    }
    for name in without:
        environment.pop(name, None)
    return environment


def production_manage(*arguments: str, without: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Runs `manage.py <arguments>` under production settings in its own process."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=BASE_DIR,
        env=production_environment(without=without),
        capture_output=True,
        text=True,
    )


def production_setting(name: str) -> str:
    """What `settings.<name>` is under production settings when the environment does not set it."""
    result = production_manage(
        "shell", "-c", f"from django.conf import settings; print(settings.{name})", without=(name,)
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def broker_flush() -> None:
    """Drops messages a previous run left on the test broker."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def child_environment(**extra: str) -> dict[str, str]:
    return (
        os.environ
        | {
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": test_database_url(),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PYTHONUNBUFFERED": "1",
        }
        | extra
    )


@contextlib.contextmanager
def celery_worker_process(
    *,
    concurrency: int = 1,
    pool: str = "prefork",
    log_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
    environment: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Starts `celery worker` as its own process on the test broker and database; stops it on exit.

    `environment` adds variables (a private broker's CELERY_BROKER_URL, TEST_EMAIL_FILE_PATH)."""
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed in the finally below
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "--loglevel",
        "INFO",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname",
        f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        *extra_args,
    ]
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=child_environment(**(environment or {})), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def wait_for(condition: object, *, timeout: float = 30.0, interval: float = 0.1, message: str = "condition") -> None:
    """Polls `condition()` until it is truthy; fails the test with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@contextlib.contextmanager
def tasks_sent_to_broker() -> Iterator[None]:
    """Makes this process send tasks to the broker instead of running them in place (the test settings' default).

    The Celery app reads its settings under the `CELERY_` namespace, where the prefixed key wins over the plain
    attribute, so the key itself is switched and the switch is checked.
    """
    from portal.celery import app

    broker_flush()
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
    assert app.conf.task_always_eager is False
    try:
        yield
    finally:
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = True


class PrivateRedis:
    """A `redis-server` of the test's own on a free loopback port, without persistence: stopping it loses everything
    it held, as a restarted production Redis without persistence would. Other test runs never see it."""

    def __init__(self, *, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            return False

    def start(self) -> None:
        log_path = self.directory / "redis.log"
        offset = output_size(log_path)
        log = open(log_path, "ab")  # noqa: SIM115 - the server process keeps it
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + PROCESS_START_TIMEOUT_SECONDS
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                reason = (
                    f"exited with {self.process.returncode}"
                    if self.process.poll() is not None
                    else f"did not answer within {PROCESS_START_TIMEOUT_SECONDS:.0f} s"
                )
                raise process_start_failure(
                    what=f"redis-server on port {self.port}",
                    reason=reason,
                    output_path=log_path,
                    output_offset=offset,
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Stops the server without saving (what it held is gone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None
        wait_for(lambda: not self.answers(), timeout=30, message=f"redis on port {self.port} to stop")


@contextlib.contextmanager
def private_redis(*, directory: Path) -> Iterator[PrivateRedis]:
    """Starts a private Redis and points this process's Celery producer at it (tasks are sent, not run in place);
    restores the test broker and stops the server on exit."""
    from portal.celery import app

    server = PrivateRedis(directory=directory)
    server.start()
    previous = {key: app.conf[key] for key in ("CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")}
    previous_environment = os.environ.get("CELERY_BROKER_URL")

    def producer_reset() -> None:
        app._pool = None  # the next send opens connections to the broker now configured
        app.amqp._producer_pool = None

    app.conf["CELERY_BROKER_URL"] = server.url
    os.environ["CELERY_BROKER_URL"] = server.url  # Celery's `broker_url` reads the environment variable first
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
    producer_reset()
    assert app.conf.broker_url == server.url and app.conf.task_always_eager is False
    try:
        yield server
    finally:
        for key, value in previous.items():
            app.conf[key] = value
        if previous_environment is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_environment
        producer_reset()
        server.stop()


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping every message it accepts; for tests that point
    Django's SMTP backend at it, in this process (`settings`) or in a worker (TEST_EMAIL_SMTP_PORT)."""

    def __init__(self) -> None:
        import threading

        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages: list[tuple[list[str], bytes]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                with outer._lock:
                    outer.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))  # type: ignore[attr-defined]
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def received(self) -> list[tuple[list[str], bytes]]:
        with self._lock:
            return list(self.messages)


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """Starts an SMTP server on loopback for the test and stops it on exit."""
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()
