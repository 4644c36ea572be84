"""The server's command line (core/serving.py)."""

from __future__ import annotations

import asyncio
import gc
import socket

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.asyncio.client import connect

from core.serving import web_server_command, websocket_upgrade_release


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


def _http_protocols_alive_after_websockets(count: int) -> int:
    """HTTP protocol objects left in memory after `count` websockets came through a real uvicorn server (httptools,
    Sans-I/O websockets) and, while they are still open, the collector found nothing to do."""

    async def run() -> int:
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
            alive = sum(type(o) is HttpToolsProtocol for o in gc.get_objects())
            for client in clients:
                await client.close()
        finally:
            gc.enable()
            server.should_exit = True
            await serving
        return alive

    return asyncio.run(run())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_after_a_websocket_upgrade_the_http_protocol_is_freed_without_the_collector():
    """A station's handshake comes through uvicorn's HTTP protocol, whose parser refers back to it; in a restart
    storm these outlived middle collections and waited, one per station, for the oldest generation's reclaim."""
    websocket_upgrade_release()
    websocket_upgrade_release()  # once per process, however often it is called

    assert _http_protocols_alive_after_websockets(20) == 0
