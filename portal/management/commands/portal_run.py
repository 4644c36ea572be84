"""Starts the whole portal on one machine: migrations, demo data, ASGI server, Celery worker and beat.

Ctrl-C (SIGINT) or SIGTERM stops every process it started. If one of them dies, the others are stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from core.serving import web_server_command, web_workers
from portal.demo import demo_data_load


class Command(BaseCommand):
    help = "Runs the portal with demo data: web server (HTTP + websockets), Celery worker and beat."

    def add_arguments(self, parser: Any) -> None:
        # Defaults from settings (PORTAL_BIND, PORTAL_PORT): the one place every process of the portal reads them.
        parser.add_argument("--host", default=settings.PORTAL_BIND)
        parser.add_argument("--port", type=int, default=settings.PORTAL_PORT)
        parser.add_argument("--tangle-port", type=int, default=int(os.environ.get("TANGLE_DEV_NODE_PORT", "14265")))

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        call_command("migrate", interactive=False, verbosity=0)
        if settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
            call_command("createcachetable", verbosity=0)
        logins = demo_data_load()
        environment = self._child_environment(host=host, port=port)
        commands = self._process_commands(host=host, port=port)
        if not settings.TANGLE_NODE_URL:
            # No node configured: run the local dev node as its own process (iota-sdk cannot share one with it).
            tangle_port = options["tangle_port"]
            environment["TANGLE_NODE_URL"] = f"http://127.0.0.1:{tangle_port}"
            commands = {"tangle": self._tangle_command(port=tangle_port), **commands}
        processes = {name: subprocess.Popen(command, env=environment) for name, command in commands.items()}
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            self._wait_until_up(f"http://{host}:{port}/health/live", processes)
            self._print_banner(f"http://{host}:{port}/", logins, mode=self._mode())
            while not stopping:
                exited = {name: process.returncode for name, process in processes.items() if process.poll() is not None}
                if exited:
                    self.stderr.write(f"Stopping: {', '.join(exited)} exited ({exited}).")
                    break
                time.sleep(0.5)
        finally:
            self._stop_all(processes)
        if not stopping:
            sys.exit(1)

    def _child_environment(self, *, host: str, port: int) -> dict[str, str]:
        """The environment of the web server, worker and beat: the portal's did:web names the host and port served.

        With the defaults (or PORTAL_BIND / PORTAL_PORT set in the environment or `.env`) the children name the same
        did:web as any other `manage.py` command; `--host` / `--port` flags differing from them reach only the
        children, so other commands must be given the same PORTAL_BIND / PORTAL_PORT."""
        environment = os.environ | {
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings.local"),
            "PORTAL_BIND": host,
            "PORTAL_PORT": str(port),
        }
        if (host, port) == (settings.PORTAL_BIND, settings.PORTAL_PORT):
            environment |= {"PORTAL_HOST": settings.PORTAL_HOST, "PORTAL_BASE_URL": settings.PORTAL_BASE_URL}
        else:
            self.stderr.write(
                f"Serving on {host}:{port}, which PORTAL_BIND/PORTAL_PORT do not say: set them to the same values for "
                "other manage.py commands (issue_credential), or their did:web will not be this portal's."
            )
            environment.setdefault("PORTAL_HOST", f"{host}:{port}")
            environment.setdefault("PORTAL_BASE_URL", f"http://{environment['PORTAL_HOST']}")
        return environment

    def _process_commands(self, *, host: str, port: int) -> dict[str, list[str]]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "portal"]
        return {
            # Served as in production and in the load run (core.serving); one process on the embedded SQLite, whose
            # single writer several processes would only queue behind.
            "web": web_server_command(
                host=host,
                port=port,
                workers=web_workers() if connection.vendor == "postgresql" else 1,
                log_level="info",
            ),
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2", "--hostname", "portal@%h"],
            "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        }

    def _tangle_command(self, *, port: int) -> list[str]:
        data_dir = str(settings.VAR_DIR / "tangle")
        return [
            sys.executable,
            "-m",
            "identity.tangle.devnode",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            data_dir,
        ]

    def _mode(self) -> str:
        database = "SQLite (embedded)" if "sqlite" in settings.DATABASES["default"]["ENGINE"] else "PostgreSQL"
        broker = "Redis" if settings.REDIS_URL else "filesystem transport (embedded)"
        tangle = settings.TANGLE_NODE_URL or "local dev node"
        return f"database: {database}; broker: {broker}; Tangle: {tangle}"

    def _wait_until_up(self, url: str, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes.values()):
                raise SystemExit("A portal process exited during start-up; see the messages above.")
            try:
                with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - a local http:// URL built above
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"The web server did not answer at {url} within 60 seconds.")

    def _print_banner(self, url: str, logins: list[Any], *, mode: str) -> None:
        lines = ["", "=" * 72, f"  FinLab portal running at {url}", f"  {mode}", "", "  Demo logins:"]
        lines += [f"    {login.role.label:12} {login.email:32} password {login.password}" for login in logins]
        lines += [
            "",
            "  Dealer and back office ask for a second factor: `make totp` prints their current codes",
            "  (and secrets to add to an authenticator app).",
            "  Press Ctrl-C to stop the web server, the worker and beat.",
            "=" * 72,
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _stop_all(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.stdout.write("Portal stopped.")
