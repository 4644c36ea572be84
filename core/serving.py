"""How the portal is served: one command line for `make run`, the benchmarks, the load run, the tests' servers and
production, so that what is measured is what runs.

uvicorn (uvloop, httptools, the Sans-I/O `websockets` implementation) serving the portal's ASGI application: one
server for HTTP and for the stations' OCPP websockets (Django Channels), in `web_workers()` processes. Websocket
frames are not compressed: OCPP messages are a few hundred bytes, and each connection kept a deflate state (zlib's
window and tables for both directions). bench/stations.py, 500 stations: 221 KiB per connection with compression and
the collector's defaults, 75 KiB without compression and with `core.runtime`'s settings (the two measured together).
The Sans-I/O implementation (`websockets-sansio`) rather than the older `websockets` one: the older one's connection
holds three tasks, a logger adapter naming it and a handler closure that refers back to it, reference cycles that
outlive the connection (about 60 objects each), and the server freezes what outlives a collection (`core.runtime`),
so they were kept until a full collection; a Sans-I/O connection is freed as soon as it closes. It sends no keepalive
pings of its own: stations send heartbeats, and browsers' status sockets are short.
The listen backlog is `LISTEN_BACKLOG` rather than uvicorn's 2,048: after a restart every station reconnects at once,
and connections beyond the backlog are dropped and retried by the station seconds later (the kernel caps it at
`net.core.somaxconn`, 4,096 by default).

HTTP requests reach Django's WSGI handler through a2wsgi's bridge, one request at a time per process
(portal/asgi.py), not through Django's ASGI handler, which ran the same synchronous views at a higher cost per
request.

bench/serving.py measured the alternatives in one run on one machine (2 cores; docs/benchmarks.md, "Serving"):
uvicorn with the bridge served 1.6 times the redemptions of uvicorn with Django's ASGI handler and more than gunicorn's
sync workers serving the WSGI application, which cannot carry the websockets; gunicorn with uvicorn workers served as
many as uvicorn alone (it adds its own supervisor, which uvicorn has too). With the bridge each process serves one
request at a time and waits on PostgreSQL in between, and one process more than there are cores served more
redemptions than two per core plus one (253 against 201 a second), whose processes took turns on the cores.
"""

from __future__ import annotations

import os
import sys

from core.client_address import uvicorn_proxy_arguments

ASGI_APPLICATION = "portal.asgi:application"
LISTEN_BACKLOG = 8192


def web_workers() -> int:
    """Server processes: PORTAL_WEB_WORKERS, else one per core plus one (each serves one HTTP request at a time, so a
    process waiting on PostgreSQL leaves its core to another; more took turns on the cores: see the module's
    description)."""
    configured = os.environ.get("PORTAL_WEB_WORKERS", "").strip()
    return int(configured) if configured else (os.cpu_count() or 1) + 1


def web_server_command(
    *,
    host: str,
    port: int,
    workers: int | None = None,
    application: str = ASGI_APPLICATION,
    factory: bool = False,
    log_level: str = "warning",
    access_log: bool = False,
) -> list[str]:
    """The server's command line. `application` is a `module:attribute` (with `factory`, a function returning it)."""
    return [
        sys.executable, "-m", "uvicorn", *(["--factory"] if factory else []), application,
        "--host", host, "--port", str(port), "--workers", str(workers or web_workers()),
        "--backlog", str(LISTEN_BACKLOG),
        "--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--lifespan", "off", "--log-level", log_level,
        *([] if access_log else ["--no-access-log"]), *uvicorn_proxy_arguments(),
    ]  # fmt: skip
