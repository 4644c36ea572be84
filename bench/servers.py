"""A server under measurement as a child process on loopback: started, waited for, stopped by its own pid.

Every benchmark that serves the portal starts it through here, with the command line `core.serving` gives (or, in
bench/serving.py, the alternatives it compares), so no benchmark carries its own copy of the start-up code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(
    port: int, *, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None, ready_path: str = ""
) -> None:
    """Until something listens on `port` and, with `ready_path`, answers it with 200 (a listening master process whose
    workers still import the portal answers nothing yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it listened")
        try:
            if ready_path:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2):
                    return
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port} after {timeout:.0f} s")


@contextlib.contextmanager
def served(
    command: list[str],
    *,
    port: int,
    log_path: Path,
    cwd: Path = BASE_DIR,
    environment: dict[str, str] | None = None,
    startup_timeout: float = 120.0,
    ready_path: str = "/health/live",
) -> Iterator[subprocess.Popen[bytes]]:
    """Runs `command` (which listens on `port`) in its own process group until the block ends, then stops the group:
    SIGTERM, and SIGKILL after 20 s. The block starts once `ready_path` answers 200."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for_port(port, timeout=startup_timeout, process=process, ready_path=ready_path)
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
