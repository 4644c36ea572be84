"""The server's command line (core/serving.py)."""

from __future__ import annotations

import asyncio
import ctypes.util
import gc
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.asyncio.client import connect
from websockets.server import ServerProtocol

from core.serving import SERVER_MALLOC_LIBRARY, protocol_cycles_release, serve, server_environment, web_server_command
from machines.testing import free_port, process_stop

BASE_DIR = Path(__file__).resolve().parents[2]
PROBE_START_TIMEOUT_SECONDS = 60  # a busy machine starts an interpreter twice (the launcher, then uvicorn) slowly


def test_the_server_speaks_websockets_through_the_sans_io_implementation():
    """The older `websockets` implementation leaves reference cycles behind every closed connection, which the
    collector's frozen survivors (core/runtime.py) would keep until a full collection; the Sans-I/O one leaves none."""
    command = web_server_command(host="127.0.0.1", port=8000, workers=1)

    assert command[command.index("--ws") + 1] == "websockets-sansio"
    assert int(command[command.index("--backlog") + 1]) > 2048  # a restart storm's connections wait to be accepted


async def _echo(scope, receive, send) -> None:
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


def _protocols_alive_after_websockets(count: int) -> tuple[int, int]:
    """uvicorn's HTTP protocol objects left in memory while `count` websockets that came through a real uvicorn
    server (httptools, Sans-I/O websockets) are open, and the websocket connections left once they have closed, with
    the collector doing nothing all along."""

    async def run() -> tuple[int, int]:
        listening = socket.create_server(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        config = uvicorn.Config(
            _echo, http="httptools", ws="websockets-sansio", lifespan="off", log_level="warning",
            ws_per_message_deflate=False,
        )  # fmt: skip
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[listening]))
        while not server.started:
            await asyncio.sleep(0.01)
        gc.collect()
        gc.disable()
        try:
            clients = [await connect(f"ws://127.0.0.1:{port}/", compression=None) for _ in range(count)]
            for client in clients:
                await client.send("ping")
                assert await client.recv() == "ping"
            # type(), not isinstance(): that asks lazy objects (the admin site) for their class, setting them up.
            http_alive = sum(type(o) is HttpToolsProtocol for o in gc.get_objects())
            for client in clients:
                await client.close()
            async with asyncio.timeout(60):  # the server has seen every connection go
                while server.server_state.connections:
                    await asyncio.sleep(0.01)
            websockets_alive = sum(type(o) is ServerProtocol for o in gc.get_objects())
        finally:
            gc.enable()
            server.should_exit = True
            await serving
        return http_alive, websockets_alive

    return asyncio.run(run())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_uvicorns_protocols_are_freed_without_the_collector():
    """A station's handshake comes through uvicorn's HTTP protocol, whose parser refers back to it, and its websocket
    connection's parser refers back to that connection; in a restart storm these outlived middle collections and
    waited, one of each per station, for the oldest generation's reclaim."""
    protocol_cycles_release()
    protocol_cycles_release()  # once per process, however often it is called

    assert _protocols_alive_after_websockets(20) == (0, 0)


def _probe_served(environment: dict[str, str]) -> tuple[int, dict[str, object]]:
    """Starts core/tests/serving_probe.py through the server's command line; returns the server's process id as
    started and what the process that answered says of itself."""
    port = free_port()
    command = web_server_command(
        host="127.0.0.1", port=port, workers=1, application="core.tests.serving_probe:application"
    )
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + PROBE_START_TIMEOUT_SECONDS
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    return process.pid, json.load(answer)
            except OSError:
                assert time.monotonic() < deadline, f"the server did not answer within {PROBE_START_TIMEOUT_SECONDS} s"
                time.sleep(0.1)
    finally:
        process_stop(process)


def test_the_server_runs_on_jemalloc_in_the_process_started():
    """pymalloc keeps an arena while one block in it lives, and what a server keeps through a restart storm pinned
    nearly all of them: the server allocates from jemalloc (installed by scripts/test-prerequisites), which
    `core.runtime` purges after a wave of disconnects. The launcher replaces itself with uvicorn, so the process id a
    supervisor or benchmark holds is the server's."""
    environment = {name: value for name, value in os.environ.items() if name not in ("PYTHONMALLOC", "LD_PRELOAD")}

    pid, served = _probe_served(environment)

    assert served == {"pid": pid, "allocator": "jemalloc", "allocated_blocks": 0, "purged": 0}


def test_an_allocator_the_environment_names_is_kept():
    environment = {name: value for name, value in os.environ.items() if name != "LD_PRELOAD"}

    pid, served = _probe_served(environment | {"PYTHONMALLOC": "pymalloc"})

    assert served["pid"] == pid and served["allocator"] == "pymalloc" and served["purged"] is None
    assert isinstance(served["allocated_blocks"], int) and served["allocated_blocks"] > 0  # Python's allocator counts


def test_without_jemalloc_installed_the_server_stays_on_pythons_allocator(monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)

    assert server_environment({"PATH": "/usr/bin"}) == {"PATH": "/usr/bin"}


def test_the_launcher_becomes_uvicorn_with_the_arguments_it_was_given(monkeypatch):
    executed = []
    monkeypatch.setattr(
        os, "execve", lambda path, arguments, environment: executed.append((path, arguments, environment))
    )
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    monkeypatch.setenv("LD_PRELOAD", "libfaketime.so.1")

    serve(["portal.asgi:application", "--port", "8000"])

    [(path, arguments, environment)] = executed
    assert arguments[1:] == ["-m", "uvicorn", "portal.asgi:application", "--port", "8000"] and path == arguments[0]
    assert environment["PYTHONMALLOC"] == "malloc" and environment["PATH"] == os.environ["PATH"]
    assert environment["LD_PRELOAD"] == f"libfaketime.so.1 {ctypes.util.find_library(SERVER_MALLOC_LIBRARY)}"
