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

A websocket begins as an HTTP request, parsed by uvicorn's httptools protocol, which hands the connection to the
websocket protocol and is then unused. Its parser holds the protocol's own methods as callbacks, a reference cycle that
uvicorn breaks when the HTTP connection is lost, which after the hand-over never happens: every station's HTTP
protocol (about 20 objects with its parser, flow control and buffers) waited for a collection of the oldest generation,
having outlived a middle one in a restart storm. The websocket protocol's Sans-I/O connection holds its parser, a
generator suspended in one of its own methods, which holds the connection in turn: another cycle per closed
connection. `protocol_cycles_release()` drops the HTTP parser right after the hand-over, as uvicorn's own
`connection_lost` does, and the websocket parser when the connection is lost, so both are freed at once. With the
URLconf imported before the start-up heap is frozen (portal/asgi.py), the reclaim once the last of 5,000 stations had
left took 46 ms, against 201 ms before (bench/stations.py; docs/benchmarks.md).

HTTP requests reach Django's WSGI handler through a2wsgi's bridge, one request at a time per process
(portal/asgi.py), not through Django's ASGI handler, which ran the same synchronous views at a higher cost per
request.

bench/serving.py measured the alternatives in one run on one machine (2 cores; docs/benchmarks.md, "Serving"): with
the bridge uvicorn served 4.4 times the redemptions a second of the portal at aa9deac served as it served itself
(before the cost-per-request work and the bridge), and with 3 processes each 1.8 times the bare authenticated requests
and 1.15 times the redemptions of uvicorn with Django's ASGI handler; gunicorn with uvicorn workers served no more
than uvicorn alone (it adds its own supervisor, which uvicorn has too), and gunicorn's sync and gthread workers, which
served as many or more on the WSGI application, cannot carry the websockets. Each process serves one request at a
time, and a client's keep-alive connection stays with the process that accepted it, so the process count is chosen
under the mixed load (bench/load.py) rather than by redemptions alone: with one process more than there are cores a
closed loop of redemptions got 265 a second against 250 with two per core and one, but in the load run the browsing
users' pages waited behind other users' requests on their process (p50 570 to 820 ms against 21 to 117 ms with two
per core and one, for the same 135 requests a second in all).

The server runs on jemalloc where it is installed (Debian's `libjemalloc2`, which Redis depends on;
`scripts/test-prerequisites` installs it), through Python's `PYTHONMALLOC=malloc` and `LD_PRELOAD`, rather than on
Python's own allocator (pymalloc). pymalloc takes memory from the system in arenas of 1 MiB and gives an arena back
only once every block in it is free. What a process keeps by design through a restart storm (each station's
verified-password digest, machines/services/registry.py; the database pool's prepared statements; caches filled on
first use) was made between the connections' own objects and spread over nearly every arena, so once the stations
had left 87% (5,000 stations) to 95% (2,000) of the memory their connections took stayed with the process. jemalloc
gives back free pages on its own and when `core.runtime` purges it after a wave of disconnects. Measured in one
session (bench/stations.py, 5,000 stations, 600 s; docs/benchmarks.md): 21 and 25% kept on jemalloc, at 1.44 and
1.45 ms of server CPU per message against pymalloc's 1.45 ms; glibc's malloc gave back about as much (24% kept) but
cost 1.62 ms per message and slowed the restart storm by half. Without jemalloc the server stays on pymalloc. The command line runs this
module, which sets the allocator unless the environment names one (`PYTHONMALLOC`) and becomes uvicorn (`exec`, same
process id): the allocator is chosen when the process starts.
"""

from __future__ import annotations

import ctypes.util
import functools
import os
import sys
from typing import NoReturn

from core.client_address import uvicorn_proxy_arguments

ASGI_APPLICATION = "portal.asgi:application"
LISTEN_BACKLOG = 8192
# The C library the server processes allocate Python's memory from, where installed (see the module's description);
# an allocator named in the environment (`PYTHONMALLOC=pymalloc`, `malloc`, `debug`) is kept.
SERVER_MALLOC_LIBRARY = "jemalloc"


def web_workers() -> int:
    """Server processes: PORTAL_WEB_WORKERS, else two per core plus one (each serves one HTTP request at a time, so a
    process waiting on PostgreSQL leaves its core to another, and fewer processes left users waiting behind others'
    requests: see the module's description)."""
    configured = os.environ.get("PORTAL_WEB_WORKERS", "").strip()
    return int(configured) if configured else 2 * (os.cpu_count() or 1) + 1


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
    """The server's command line. `application` is a `module:attribute` (with `factory`, a function returning it).
    It runs this module, which becomes uvicorn with these arguments on the server's allocator (`serve`)."""
    return [
        sys.executable, "-m", "core.serving", *(["--factory"] if factory else []), application,
        "--host", host, "--port", str(port), "--workers", str(workers or web_workers()),
        "--backlog", str(LISTEN_BACKLOG),
        "--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--lifespan", "off", "--log-level", log_level,
        *([] if access_log else ["--no-access-log"]), *uvicorn_proxy_arguments(),
    ]  # fmt: skip


def protocol_cycles_release() -> None:
    """uvicorn's protocol objects let go of what refers back to them once they are done (see the module's
    description): the HTTP protocol of its parser after handing a connection to the websocket protocol, and the
    websocket protocol of its Sans-I/O connection's parser when the connection is lost. Called once per server
    process (portal/asgi.py); calling it again changes nothing."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    upgrade = HttpToolsProtocol.handle_websocket_upgrade
    if getattr(upgrade, "cycles_released", False):
        return

    @functools.wraps(upgrade)
    def upgrade_then_release(self: HttpToolsProtocol) -> None:
        upgrade(self)
        # What uvicorn's `connection_lost` does; nothing of this protocol runs after the hand-over (its
        # `data_received` returns right after this call, and the transport now calls the websocket protocol).
        self.parser = None  # type: ignore[assignment]

    lost = WebSocketsSansIOProtocol.connection_lost

    @functools.wraps(lost)
    def lost_then_release(self: WebSocketsSansIOProtocol, exc: Exception | None) -> None:
        lost(self, exc)
        # The connection's parser is a generator suspended in a method of the connection, which holds it: a cycle.
        # Nothing feeds the connection any more once the transport is lost; sending raises as before, by state.
        self.conn.parser = None  # type: ignore[assignment]

    upgrade_then_release.cycles_released = True  # type: ignore[attr-defined]
    # uvicorn takes its protocol classes by name only (`--http httptools`, `--ws websockets-sansio`), so the classes
    # are wrapped rather than subclassed: the command line stays the one every caller of `web_server_command` runs.
    HttpToolsProtocol.handle_websocket_upgrade = upgrade_then_release  # type: ignore[method-assign]
    WebSocketsSansIOProtocol.connection_lost = lost_then_release  # type: ignore[method-assign]


def server_environment(environment: dict[str, str]) -> dict[str, str]:
    """`environment` with the server's allocator: Python's memory from `SERVER_MALLOC_LIBRARY` when it is installed
    and the environment names no allocator; otherwise unchanged (Python's own allocator, or the one named)."""
    library = ctypes.util.find_library(SERVER_MALLOC_LIBRARY)
    if environment.get("PYTHONMALLOC") or not library:
        return dict(environment)
    preload = " ".join(filter(None, [environment.get("LD_PRELOAD", ""), library]))
    return environment | {"PYTHONMALLOC": "malloc", "LD_PRELOAD": preload}


def serve(arguments: list[str]) -> NoReturn:
    """Becomes `python -m uvicorn <arguments>` on the server's allocator (`server_environment`)."""
    command = [sys.executable, "-m", "uvicorn", *arguments]
    # The interpreter running this module, with the server's own argument list: no shell, nothing from outside.
    os.execve(command[0], command, server_environment(dict(os.environ)))  # noqa: S606


if __name__ == "__main__":
    serve(sys.argv[1:])
