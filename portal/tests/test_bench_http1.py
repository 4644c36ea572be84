"""The load generators' raw-stream HTTP/1.1 client (bench/http1.py): answers with a length or in chunks on one
kept-alive connection, and a kept-alive connection the server closed meanwhile is sent again on a new one."""

from __future__ import annotations

import asyncio

from bench.http1 import Pool, request_bytes

LENGTH_ANSWER = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n" + b'{"status":"ok"}'
)
CHUNKED_ANSWER = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"4\r\nabcd\r\n" + b"3;x=y\r\nefg\r\n" + b"0\r\n\r\n"
)


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    return head + await reader.readexactly(length)


def _serve(answers: list[bytes], *, close_after: int | None = None):
    """A server that answers each request on a connection with the next of `answers`, and closes a connection after
    `close_after` answers; it records every request it read and every connection it accepted."""
    seen: list[bytes] = []
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        answered = 0
        try:
            while close_after is None or answered < close_after:
                seen.append(await _read_request(reader))
                writer.write(answers[(len(seen) - 1) % len(answers)])
                await writer.drain()
                answered += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle, seen, connections


def test_answers_by_length_and_in_chunks_come_back_whole_on_one_kept_alive_connection():
    async def scenario():
        handle, seen, connections = _serve([LENGTH_ANSWER, CHUNKED_ANSWER])
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = Pool("127.0.0.1", port)
        raw = request_bytes("POST", "/x", host="127.0.0.1", headers={"X-Test": "1"}, body=b"{}")
        try:
            first = await pool.request(raw)
            second = await pool.request(raw)
        finally:
            pool.close()
            server.close()
        return first, second, seen, connections

    first, second, seen, connections = asyncio.run(scenario())

    assert (first.status, first.body) == (201, b'{"status":"ok"}')
    assert (second.status, second.body) == (200, b"abcdefg")
    assert seen[0] == b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nX-Test: 1\r\n\r\n{}"
    assert len(connections) == 1


def test_a_kept_alive_connection_the_server_closed_is_sent_again_on_a_new_one():
    async def scenario():
        handle, seen, _connections = _serve([LENGTH_ANSWER], close_after=1)
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = Pool("127.0.0.1", port)
        raw = request_bytes("GET", "/", host="127.0.0.1", headers={})
        try:
            first = await pool.request(raw)
            for _ in range(100):  # until the server's close has reached this side
                await asyncio.sleep(0.01)
                if pool.idle and pool.idle[-1].reader.at_eof():
                    break
            second = await pool.request(raw)
        finally:
            pool.close()
            server.close()
        return first, second, pool, seen

    first, second, pool, seen = asyncio.run(scenario())

    assert first.status == second.status == 201
    assert pool.stale_retries == 1 and pool.opened == 2
    assert len(seen) == 2
