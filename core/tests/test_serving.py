"""The server's command line (core/serving.py)."""

from __future__ import annotations

import asyncio
import gc
import socket

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.asyncio.client import connect
from websockets.server import ServerProtocol

from core.serving import protocol_cycles_release, web_server_command


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
