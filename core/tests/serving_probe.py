"""An ASGI application that answers every HTTP request with facts about the process serving it: its id, where its
memory comes from (`core.runtime.allocator_name`), Python's allocated memory blocks (counted by Python's own allocator
only, 0 on any other) and the result of a jemalloc purge (None without jemalloc). core/tests/test_serving.py starts it
through `core.serving.web_server_command`."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from core.runtime import allocator_name, jemalloc_purge_function


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    purge = jemalloc_purge_function()
    body = json.dumps(
        {
            "pid": os.getpid(),
            "allocator": allocator_name(),
            "allocated_blocks": sys.getallocatedblocks(),
            "purged": None if purge is None else purge(),
        }
    ).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
