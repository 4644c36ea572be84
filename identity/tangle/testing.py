"""Start and stop the local Tangle dev node as a real child process, for tests of any app.

The node must live in its own process: iota-sdk's native calls hold the interpreter, so a node served from a thread of
the test process would never answer. Usage::

    with running_dev_node(data_dir=tmp_path / "tangle") as node:
        anchor = get_anchor(node.url)
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.testing import PROCESS_START_TIMEOUT_SECONDS, ProcessStartError, output_size, output_tail

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = PROCESS_START_TIMEOUT_SECONDS
STOP_TIMEOUT_SECONDS = 10.0


class DevNodeStartError(ProcessStartError):
    """The dev node process exited or stayed silent instead of announcing its address."""


class DevNode:
    """A dev node child process bound to ``host``; ``port`` 0 lets the node pick a free port on first start.

    After the first start the port stays fixed, so :meth:`restart` brings the node back at the same URL with the same
    data directory, as a restarted production node would be.
    """

    def __init__(self, *, data_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-devnode.log"
        self.log_offset = 0

    @property
    def url(self) -> str:
        """Base URL of the node API, e.g. ``http://127.0.0.1:14265``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> DevNode:
        """Start the process and return once ``/health`` answers 200; raises :class:`DevNodeStartError` otherwise."""
        command = [sys.executable, "-m", "identity.tangle.devnode", "--host", self.host, "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_offset = output_size(self.log_path)
        with self.log_path.open("ab") as log:
            # The command is this interpreter running a module of this project; no outside input reaches it.
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=log
            )
        try:
            self.port = self._read_announced_port()
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_announced_port(self) -> int:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], STARTUP_TIMEOUT_SECONDS)
        line = self.process.stdout.readline().decode().strip() if ready else ""
        if not line.startswith("listening on http://"):
            if not ready:
                reason = f"it announced no address within {STARTUP_TIMEOUT_SECONDS:.0f} s"
            elif not line:
                reason = "it exited before announcing its address"
            else:
                reason = f"it printed {line!r} instead of its address"
            raise DevNodeStartError(f"dev node did not start: {reason}.\n{self._output()}")
        return int(line.rsplit(":", 1)[1])

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise DevNodeStartError(
                    f"dev node did not start: it exited with {self.process.returncode}.\n{self._output()}"
                )
            try:
                # The URL is always http:// on the host and port this helper chose.
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise DevNodeStartError(
            f"dev node did not start: {self.url} was not healthy within {STARTUP_TIMEOUT_SECONDS:.0f} s.\n{self._output()}"
        )

    def _output(self) -> str:
        return output_tail(self.log_path, offset=self.log_offset)

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after a grace period) and wait for it to exit."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def restart(self) -> DevNode:
        """Stop and start again on the same port and data directory."""
        self.stop()
        return self.start()


@contextmanager
def running_dev_node(*, data_dir: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[DevNode]:
    """Run a dev node for the duration of the ``with`` block and always stop it afterwards."""
    node = DevNode(data_dir=data_dir, host=host, port=port)
    node.start()
    try:
        yield node
    finally:
        node.stop()
