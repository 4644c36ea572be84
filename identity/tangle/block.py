"""The Stardust block format (TIP-24), restricted to what anchoring uses: no payload or a tagged-data payload.

Binary layout (all integers little-endian)::

    protocol version  u8      (2 for Stardust)
    parents count     u8      1..8
    parents           count x 32 bytes, sorted lexicographically, no duplicates
    payload length    u32     0 when the block carries no payload
    payload           payload length bytes
        payload type  u32     5 = tagged data (TIP-23)
        tag           u8 length + 0..64 bytes
        data          u32 length + bytes
    nonce             u64

A block id is BLAKE2b-256 of the whole serialized block, nonce included, as the node and iota-sdk compute it.
The same codec serves the dev node (validating what it receives) and the anchor backend (reading blocks back).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

PROTOCOL_VERSION = 2
MAX_BLOCK_LENGTH = 32_768
"""Largest serialized block in bytes that a Stardust node accepts."""
MIN_PARENTS = 1
MAX_PARENTS = 8
BLOCK_ID_LENGTH = 32
MAX_TAG_LENGTH = 64
TAGGED_DATA_PAYLOAD_TYPE = 5
GENESIS_BLOCK_ID = bytes(BLOCK_ID_LENGTH)
"""The all-zero id that a network without blocks offers as its only tip (Hornet's empty block id)."""


class BlockFormatError(ValueError):
    """The bytes or JSON are not a well-formed Stardust block this codec accepts; the message says why."""


@dataclass(frozen=True, slots=True)
class TaggedData:
    """A tagged-data payload: ``tag`` (0..64 bytes) labels the ``data``; neither is interpreted by the node."""

    tag: bytes
    data: bytes


@dataclass(frozen=True, slots=True)
class Block:
    """A parsed block. ``payload`` is None for a block without payload; ``nonce`` is the proof-of-work nonce."""

    protocol_version: int
    parents: tuple[bytes, ...]
    payload: TaggedData | None
    nonce: int


def block_id_of(raw: bytes) -> bytes:
    """Return the 32-byte block id of a serialized block: BLAKE2b-256 of ``raw``."""
    return hashlib.blake2b(raw, digest_size=BLOCK_ID_LENGTH).digest()


def to_hex(value: bytes) -> str:
    """Return ``value`` as the ``0x``-prefixed lowercase hex used throughout the node API."""
    return "0x" + value.hex()


def from_hex(value: object, *, length: int | None = None, field: str) -> bytes:
    """Decode a ``0x``-prefixed hex string, checking the decoded length when ``length`` is given."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise BlockFormatError(f"{field} must be a 0x-prefixed hex string")
    try:
        decoded = bytes.fromhex(value[2:])
    except ValueError as error:
        raise BlockFormatError(f"{field} is not valid hex") from error
    if length is not None and len(decoded) != length:
        raise BlockFormatError(f"{field} must be {length} bytes, got {len(decoded)}")
    return decoded


def _check_parents(parents: tuple[bytes, ...]) -> None:
    if not MIN_PARENTS <= len(parents) <= MAX_PARENTS:
        raise BlockFormatError(f"a block needs {MIN_PARENTS} to {MAX_PARENTS} parents, got {len(parents)}")
    if any(len(parent) != BLOCK_ID_LENGTH for parent in parents):
        raise BlockFormatError(f"parents must be {BLOCK_ID_LENGTH}-byte block ids")
    if any(earlier >= later for earlier, later in pairwise(parents)):
        raise BlockFormatError("parents must be sorted lexicographically and unique")


class _Reader:
    """Reads little-endian fields from a byte string, failing with a named field when the bytes run out."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.offset = 0

    def take(self, count: int, *, field: str) -> bytes:
        end = self.offset + count
        if end > len(self.raw):
            raise BlockFormatError(f"block ends inside {field}")
        chunk = self.raw[self.offset : end]
        self.offset = end
        return chunk

    def integer(self, fmt: str, *, field: str) -> int:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), field=field))[0]


def _parse_payload(raw: bytes) -> TaggedData:
    reader = _Reader(raw)
    payload_type = reader.integer("<I", field="payload type")
    if payload_type != TAGGED_DATA_PAYLOAD_TYPE:
        raise BlockFormatError(f"payload type {payload_type} is not accepted; only tagged data (5) is")
    tag_length = reader.integer("<B", field="tag length")
    if tag_length > MAX_TAG_LENGTH:
        raise BlockFormatError(f"tag is {tag_length} bytes; at most {MAX_TAG_LENGTH} are allowed")
    tag = reader.take(tag_length, field="tag")
    data = reader.take(reader.integer("<I", field="data length"), field="data")
    if reader.offset != len(raw):
        raise BlockFormatError("payload length does not match the tagged-data payload")
    return TaggedData(tag=tag, data=data)


def parse_block(raw: bytes) -> Block:
    """Parse and validate a serialized block; raises :class:`BlockFormatError` naming the first problem found."""
    if len(raw) > MAX_BLOCK_LENGTH:
        raise BlockFormatError(f"block is {len(raw)} bytes; at most {MAX_BLOCK_LENGTH} are allowed")
    reader = _Reader(raw)
    protocol_version = reader.integer("<B", field="protocol version")
    if protocol_version != PROTOCOL_VERSION:
        raise BlockFormatError(f"protocol version {protocol_version} is not {PROTOCOL_VERSION}")
    parents_count = reader.integer("<B", field="parents count")
    parents = tuple(reader.take(BLOCK_ID_LENGTH, field="parents") for _ in range(parents_count))
    _check_parents(parents)
    payload_length = reader.integer("<I", field="payload length")
    payload = _parse_payload(reader.take(payload_length, field="payload")) if payload_length else None
    nonce = reader.integer("<Q", field="nonce")
    if reader.offset != len(raw):
        raise BlockFormatError(f"{len(raw) - reader.offset} unexpected bytes after the nonce")
    return Block(protocol_version=protocol_version, parents=parents, payload=payload, nonce=nonce)


def serialize_block(block: Block) -> bytes:
    """Return the binary form of ``block`` (the inverse of :func:`parse_block`), validating it on the way."""
    _check_parents(block.parents)
    payload = b""
    if block.payload is not None:
        tag, data = block.payload.tag, block.payload.data
        if len(tag) > MAX_TAG_LENGTH:
            raise BlockFormatError(f"tag is {len(tag)} bytes; at most {MAX_TAG_LENGTH} are allowed")
        payload = struct.pack("<IB", TAGGED_DATA_PAYLOAD_TYPE, len(tag)) + tag + struct.pack("<I", len(data)) + data
    if not 0 <= block.nonce < 2**64:
        raise BlockFormatError("nonce must fit in 64 unsigned bits")
    head = struct.pack("<BB", block.protocol_version, len(block.parents)) + b"".join(block.parents)
    raw = head + struct.pack("<I", len(payload)) + payload + struct.pack("<Q", block.nonce)
    if len(raw) > MAX_BLOCK_LENGTH:
        raise BlockFormatError(f"block is {len(raw)} bytes; at most {MAX_BLOCK_LENGTH} are allowed")
    return raw


def block_to_json(block: Block) -> dict[str, Any]:
    """Return the node API's JSON form of ``block`` (``protocolVersion``, ``parents``, ``payload``, ``nonce``)."""
    body: dict[str, Any] = {
        "protocolVersion": block.protocol_version,
        "parents": [to_hex(parent) for parent in block.parents],
    }
    if block.payload is not None:
        body["payload"] = {
            "type": TAGGED_DATA_PAYLOAD_TYPE,
            "tag": to_hex(block.payload.tag),
            "data": to_hex(block.payload.data),
        }
    body["nonce"] = str(block.nonce)
    return body


def _payload_from_json(payload: object) -> TaggedData | None:
    if payload is None:
        return None
    if not isinstance(payload, Mapping):
        raise BlockFormatError("payload must be an object")
    if payload.get("type") != TAGGED_DATA_PAYLOAD_TYPE:
        raise BlockFormatError(f"payload type {payload.get('type')!r} is not accepted; only tagged data (5) is")
    return TaggedData(
        tag=from_hex(payload.get("tag", "0x"), field="payload.tag"),
        data=from_hex(payload.get("data", "0x"), field="payload.data"),
    )


def block_from_json(body: object) -> Block:
    """Build a :class:`Block` from the node API's JSON form; raises :class:`BlockFormatError` when it is malformed."""
    if not isinstance(body, Mapping):
        raise BlockFormatError("a block must be a JSON object")
    protocol_version = body.get("protocolVersion")
    if protocol_version != PROTOCOL_VERSION:
        raise BlockFormatError(f"protocolVersion must be {PROTOCOL_VERSION}")
    parents = body.get("parents")
    if not isinstance(parents, list):
        raise BlockFormatError("parents must be a list of block ids")
    nonce_text = body.get("nonce", "0")
    if not isinstance(nonce_text, str) or not (nonce_text.isascii() and nonce_text.isdigit()):
        raise BlockFormatError("nonce must be a decimal string")
    return Block(
        protocol_version=PROTOCOL_VERSION,
        parents=tuple(from_hex(parent, length=BLOCK_ID_LENGTH, field="parents") for parent in parents),
        payload=_payload_from_json(body.get("payload")),
        nonce=int(nonce_text),
    )
