"""Test helpers that start real processes: a Celery worker on Redis against the test database."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """The URL of the database pytest-django created, so that a child process sees the same rows."""
    database = connection.settings_dict
    user = database.get("USER") or "postgres"
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{database['NAME']}"


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
    *, concurrency: int = 1, pool: str = "prefork", log_path: Path | None = None, extra_args: tuple[str, ...] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """Starts `celery worker` as its own process on the test broker and database; stops it on exit."""
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
    process = subprocess.Popen(command, cwd=BASE_DIR, env=child_environment(), stdout=log, stderr=subprocess.STDOUT)
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
