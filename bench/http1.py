"""A small HTTP/1.1 client on raw asyncio streams, for load generators that must cost little CPU per request.

Requests are ready-made bytes (`request_bytes`), so the timed loop only writes them and reads the answer: status line,
headers and a body of `Content-Length` bytes or in chunks. Connections are kept alive and reused last-in, first-out,
so the ones in use stay warm; a connection idle longer than `IDLE_SECONDS` (under uvicorn's 5 s keep-alive timeout) is
closed rather than reused. A reused connection that ends without a byte of an answer (the server closed it while it
was idle) is retried once on a new connection and counted in `Pool.stale_retries`, which the reports show.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

IDLE_SECONDS = 3.0
MAX_HEADER_LINES = 100


def request_bytes(method: str, path: str, *, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """One request as it goes on the wire (HTTP/1.1, keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    sent_at: float  # time.perf_counter() right after the request was handed to the socket


class Stale(Exception):
    """The server had closed a reused connection before answering anything."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used_at = time.perf_counter()

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Keep-alive connections to one server; `request` may be awaited by any number of tasks at once."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.idle: list[_Connection] = []
        self.opened = 0
        self.stale_retries = 0

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**20)
        self.opened += 1
        return _Connection(reader, writer)

    async def warm(self, count: int) -> None:
        """Opens `count` connections ahead of a timed phase, so it does not pay for them."""
        self.idle.extend(await asyncio.gather(*(self._open() for _ in range(count))))

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()

    def _take(self) -> _Connection | None:
        now = time.perf_counter()
        while self.idle:
            connection = self.idle.pop()
            if now - connection.used_at < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def request(self, raw: bytes) -> Answer:
        connection = self._take()
        if connection is not None:
            try:
                return await self._exchange(connection, raw)
            except Stale:
                self.stale_retries += 1
        return await self._exchange(await self._open(), raw, fresh=True)

    async def _exchange(self, connection: _Connection, raw: bytes, *, fresh: bool = False) -> Answer:
        try:
            connection.writer.write(raw)
            sent_at = time.perf_counter()
            status_line = await connection.reader.readline()
            if not status_line:
                raise Stale if not fresh else ConnectionError("the server closed the connection without answering")
            status = int(status_line.split(b" ", 2)[1])
            length, chunked, close = 0, False, False
            for _ in range(MAX_HEADER_LINES):
                line = await connection.reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value
                elif name == b"connection":
                    close = value == b"close"
            body = await self._chunked(connection.reader) if chunked else await connection.reader.readexactly(length)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            connection.close()
            if not fresh and isinstance(error, ConnectionResetError | BrokenPipeError):
                raise Stale from error
            raise
        except BaseException:
            connection.close()  # a timeout or cancellation mid-answer: the connection's state is unknown
            raise
        if close:
            connection.close()
        else:
            connection.used_at = time.perf_counter()
            self.idle.append(connection)
        return Answer(status, body, sent_at)

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readline()).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
