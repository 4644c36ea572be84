"""The server's command line (core/serving.py)."""

from __future__ import annotations

from core.serving import web_server_command


def test_the_server_speaks_websockets_through_the_sans_io_implementation():
    """The older `websockets` implementation leaves reference cycles behind every closed connection, which the
    collector's frozen survivors (core/runtime.py) would keep until a full collection; the Sans-I/O one leaves none."""
    command = web_server_command(host="127.0.0.1", port=8000, workers=1)

    assert command[command.index("--ws") + 1] == "websockets-sansio"
    assert int(command[command.index("--backlog") + 1]) > 2048  # a restart storm's connections wait to be accepted
