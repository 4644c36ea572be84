"""HTTP through the portal's ASGI application (portal/asgi.py): Django's WSGI handler behind a2wsgi's bridge, as the
server runs it (core.serving). Each request runs in the bridge's thread, its answer comes back whole, and it hands
its database connection back to the process's pool when it finishes, however many requests come."""

from __future__ import annotations

import asyncio
import importlib
import json
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_started
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True)
REQUESTS = 12


@pytest.fixture
def portal_application(monkeypatch):
    # The module tunes the collector for a server process when imported; the test process keeps Python's settings.
    monkeypatch.setenv("PORTAL_RUNTIME_TUNING", "off")
    return importlib.import_module("portal.asgi").application


def _scope(path: str, *, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _exchange(application, scope: dict, body: bytes = b"") -> tuple[int, dict[bytes, bytes], bytes]:
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout=30)
    assert start["type"] == "http.response.start"
    chunks = []
    while True:
        message = await communicator.receive_output(timeout=30)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=30)
    return start["status"], dict(start["headers"]), b"".join(chunks)


def test_requests_run_in_the_bridge_thread_and_give_their_connection_back(portal_application):
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's")
    threads: list[str] = []

    def started(**kwargs: object) -> None:
        threads.append(threading.current_thread().name)

    request_started.connect(started)
    pool = connections["default"].pool
    before = pool.get_stats()["pool_size"] - pool.get_stats()["pool_available"]
    try:

        async def run() -> list[tuple[int, dict[bytes, bytes], bytes]]:
            return await asyncio.gather(
                *(_exchange(portal_application, _scope("/health/ready")) for _ in range(REQUESTS))
            )

        answers = asyncio.run(run())
    finally:
        request_started.disconnect(started)
    after = pool.get_stats()["pool_size"] - pool.get_stats()["pool_available"]

    assert [json.loads(body)["checks"]["database"]["status"] for _, _, body in answers] == ["up"] * REQUESTS
    assert all(headers[b"x-frame-options"] == b"DENY" for _, headers, _ in answers)  # the whole middleware chain
    assert len(threads) == REQUESTS and all(name.startswith("WSGI") for name in threads)
    assert after == before


def test_a_request_body_reaches_the_view_and_an_error_answers_in_json(portal_application):
    body = json.dumps({"product_code": "no-such-product", "price": 1, "term_months": 36}).encode()
    scope = _scope(
        "/api/leasing/quotes", method="POST",
        headers=[(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    )  # fmt: skip

    status, headers, answer = asyncio.run(_exchange(portal_application, scope, body))

    assert (status, headers[b"content-type"]) == (422, b"application/json")
    assert json.loads(answer)["code"] == "product_unknown"  # the product the body named
