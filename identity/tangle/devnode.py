"""A local Tangle dev node that speaks the Stardust node REST API used by iota-sdk 1.x.

The public Stardust network is gone, so development, tests and ``make run`` anchor against this node instead. It
accepts tagged-data blocks, validates their binary layout, stores them in SQLite under ``--data-dir`` (they survive a
restart) and confirms each block immediately. It asks for no proof of work (``minPowScore`` 0).

Run it as its own process (iota-sdk's native calls block a server living in the same interpreter)::

    python -m identity.tangle.devnode --host 127.0.0.1 --port 14265 --data-dir var/tangle

Routes: ``GET /health``, ``GET /api/core/v2/info``, ``GET /api/core/v2/tips``, ``POST /api/core/v2/blocks``
(raw ``application/vnd.iota.serializer-v1`` bytes or JSON), ``GET /api/core/v2/blocks/{id}`` (JSON, or raw bytes when
the ``Accept`` header asks for them) and ``GET /api/core/v2/blocks/{id}/metadata``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from identity.tangle.block import (
    MAX_BLOCK_LENGTH,
    PROTOCOL_VERSION,
    BlockFormatError,
    block_from_json,
    block_id_of,
    block_to_json,
    from_hex,
    parse_block,
    serialize_block,
    to_hex,
)
from identity.tangle.store import BlockStore, StoredBlock, UnknownParentError

logger = logging.getLogger("identity.tangle.devnode")

RAW_CONTENT_TYPE = "application/vnd.iota.serializer-v1"
JSON_CONTENT_TYPE = "application/json"
MAX_JSON_BODY = 4 * MAX_BLOCK_LENGTH
"""Largest JSON request body in bytes: hex doubles the block, field names and spacing add the rest."""
_BLOCK_PATH = re.compile(r"^/api/core/v2/blocks/(?P<block_id>[^/]+)(?P<metadata>/metadata)?$")


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """What the node announces in ``/api/core/v2/info``; the defaults describe a private development network."""

    network_name: str = "finlab-dev"
    bech32_hrp: str = "tst"
    token_supply: int = 4_600_000_000_000_000
    """Total base-token supply in the smallest unit."""


class ApiError(Exception):
    """An error answered to the client as ``{"error": {"code", "message"}}`` with the given HTTP status."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def node_info(*, store: BlockStore, settings: NetworkSettings, now: float) -> dict[str, Any]:
    """Return the ``/api/core/v2/info`` body; ``now`` is Unix time in seconds and dates the latest milestone."""
    latest_index = store.latest_milestone_index()
    milestone = {
        "index": latest_index,
        "timestamp": int(now),
        "milestoneId": to_hex(block_id_of(b"milestone" + latest_index.to_bytes(4, "little"))),
    }
    blocks_per_second = store.count_since(since_ms=int(now * 1000) - 60_000) / 60
    return {
        "name": "finlab-tangle-devnode",
        "version": "1.0.0",
        "status": {
            "isHealthy": True,
            "latestMilestone": milestone,
            "confirmedMilestone": milestone,
            "pruningIndex": 0,
        },
        "supportedProtocolVersions": [PROTOCOL_VERSION],
        "protocol": {
            "version": PROTOCOL_VERSION,
            "networkName": settings.network_name,
            "bech32Hrp": settings.bech32_hrp,
            "minPowScore": 0,
            "belowMaxDepth": 15,
            "rentStructure": {"vByteCost": 100, "vByteFactorKey": 10, "vByteFactorData": 1},
            "tokenSupply": str(settings.token_supply),
        },
        "pendingProtocolParameters": [],
        "baseToken": {
            "name": "IOTA",
            "tickerSymbol": "IOTA",
            "unit": "IOTA",
            "subunit": "micro",
            "decimals": 6,
            "useMetricPrefix": False,
        },
        "metrics": {
            "blocksPerSecond": blocks_per_second,
            "referencedBlocksPerSecond": blocks_per_second,
            "referencedRate": 100.0 if blocks_per_second else 0.0,
        },
        "features": [],
    }


def block_metadata(stored: StoredBlock) -> dict[str, Any]:
    """Return the ``/metadata`` body: the dev node references every block by a milestone at once."""
    block = parse_block(stored.raw)
    return {
        "blockId": to_hex(stored.block_id),
        "parents": [to_hex(parent) for parent in block.parents],
        "isSolid": True,
        "referencedByMilestoneIndex": stored.milestone_index,
        "ledgerInclusionState": "noTransaction",
    }


def accept_block(*, store: BlockStore, body: bytes, content_type: str) -> bytes:
    """Validate and store a posted block (raw bytes or JSON); return its id. Raises :class:`ApiError` on refusal."""
    try:
        if content_type == RAW_CONTENT_TYPE:
            raw = body
            block = parse_block(raw)
        elif content_type == JSON_CONTENT_TYPE:
            try:
                document = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise BlockFormatError(f"body is not JSON: {error}") from error
            raw = serialize_block(block_from_json(document))
            block = parse_block(raw)
        else:
            raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"content type must be {RAW_CONTENT_TYPE} or JSON")
        block_id = block_id_of(raw)
        store.insert(block_id=block_id, raw=raw, parents=block.parents)
    except (BlockFormatError, UnknownParentError) as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"invalid block: {error}") from error
    return block_id


class NodeRequestHandler(BaseHTTPRequestHandler):
    """Routes one HTTP request to the node API; every answer carries a Content-Length so connections stay open."""

    protocol_version = "HTTP/1.1"
    server: NodeServer

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: HTTPStatus, document: Any) -> None:
        self._send(status, json.dumps(document).encode(), JSON_CONTENT_TYPE)

    def _send_error(self, error: ApiError) -> None:
        self._send_json(error.status, {"error": {"code": str(error.status.value), "message": error.message}})

    def do_GET(self) -> None:
        try:
            self._route_get(self.path.split("?", 1)[0])
        except ApiError as error:
            self._send_error(error)
        except Exception:
            logger.exception("GET %s failed", self.path)
            self._send_error(ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal node error"))

    def _route_get(self, path: str) -> None:
        store = self.server.store
        if path == "/health":
            self._send(HTTPStatus.OK, b"", "text/plain")
        elif path == "/api/core/v2/info":
            self._send_json(HTTPStatus.OK, node_info(store=store, settings=self.server.settings, now=time.time()))
        elif path == "/api/core/v2/tips":
            self._send_json(HTTPStatus.OK, {"tips": [to_hex(tip) for tip in store.tips()]})
        elif match := _BLOCK_PATH.match(path):
            self._get_block(match["block_id"], is_metadata=bool(match["metadata"]))
        else:
            raise ApiError(HTTPStatus.NOT_FOUND, f"no route {path}")

    def _get_block(self, block_id_text: str, *, is_metadata: bool) -> None:
        try:
            block_id = from_hex(block_id_text, length=32, field="block id")
        except BlockFormatError as error:
            raise ApiError(HTTPStatus.BAD_REQUEST, str(error)) from error
        stored = self.server.store.get(block_id=block_id)
        if stored is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"block not found: {block_id_text}")
        if is_metadata:
            self._send_json(HTTPStatus.OK, block_metadata(stored))
        elif RAW_CONTENT_TYPE in self.headers.get("Accept", ""):
            self._send(HTTPStatus.OK, stored.raw, RAW_CONTENT_TYPE)
        else:
            self._send_json(HTTPStatus.OK, block_to_json(parse_block(stored.raw)))

    def do_POST(self) -> None:
        try:
            if self.path.split("?", 1)[0] != "/api/core/v2/blocks":
                self._discard_body()
                raise ApiError(HTTPStatus.NOT_FOUND, f"no route {self.path}")
            body = self._read_body()
            content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            block_id = accept_block(store=self.server.store, body=body, content_type=content_type)
            self._send_json(HTTPStatus.CREATED, {"blockId": to_hex(block_id)})
        except ApiError as error:
            self._send_error(error)
        except Exception:
            logger.exception("POST %s failed", self.path)
            self.close_connection = True
            self._send_error(ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal node error"))

    def _content_length(self) -> int:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            raise ApiError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required") from None
        if length < 0:
            self.close_connection = True
            raise ApiError(HTTPStatus.BAD_REQUEST, "Content-Length must not be negative")
        return length

    def _read_body(self) -> bytes:
        length = self._content_length()
        if length > MAX_JSON_BODY:
            self.close_connection = True
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body exceeds {MAX_JSON_BODY} bytes")
        return self.rfile.read(length)

    def _discard_body(self) -> None:
        try:
            self._read_body()
        except ApiError:
            self.close_connection = True


class NodeServer(ThreadingHTTPServer):
    """The HTTP server holding the block store and network settings shared by all request threads."""

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, store: BlockStore, settings: NetworkSettings) -> None:
        super().__init__(address, NodeRequestHandler)
        self.store = store
        self.settings = settings


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local Tangle dev node (Stardust node API for iota-sdk 1.x).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=14265, help="0 picks a free port (printed on start)")
    parser.add_argument("--data-dir", type=Path, default=Path("var/tangle"))
    defaults = NetworkSettings()
    parser.add_argument("--network-name", default=defaults.network_name)
    parser.add_argument("--bech32-hrp", default=defaults.bech32_hrp)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the node until SIGTERM or Ctrl-C; prints ``listening on <url>`` once it accepts connections."""
    arguments = _parse_arguments(argv)
    logging.basicConfig(level=logging.INFO if arguments.verbose else logging.WARNING, stream=sys.stderr)
    settings = NetworkSettings(network_name=arguments.network_name, bech32_hrp=arguments.bech32_hrp)
    store = BlockStore(data_dir=arguments.data_dir)
    server = NodeServer((arguments.host, arguments.port), store=store, settings=settings)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()


if __name__ == "__main__":
    main()
