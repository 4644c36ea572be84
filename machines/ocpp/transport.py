"""Adapter between a Channels websocket consumer and the `ocpp` library, which expects `recv()` / `send()`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Close


class ChannelsConnection:
    """Frames the consumer receives go into a queue that `recv()` reads; `send()` writes a text frame back.

    `close()` wakes a waiting `recv()` with ConnectionClosedOK, which is how `ChargePoint.start()` learns the
    station went away.
    """

    def __init__(self, send_text: Callable[[str], Awaitable[None]]) -> None:
        self._send_text = send_text
        self._frames: asyncio.Queue[str | None] = asyncio.Queue()

    def feed(self, text: str) -> None:
        self._frames.put_nowait(text)

    def close(self) -> None:
        self._frames.put_nowait(None)

    async def recv(self) -> str:
        frame = await self._frames.get()
        if frame is None:
            raise ConnectionClosedOK(Close(1000, "station disconnected"), None)
        return frame

    async def send(self, message: str) -> None:
        await self._send_text(message)
