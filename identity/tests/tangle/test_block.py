import hashlib
import struct

import pytest

from identity.tangle.block import (
    Block,
    BlockFormatError,
    TaggedData,
    block_from_json,
    block_id_of,
    block_to_json,
    parse_block,
    serialize_block,
)

PARENT_A = bytes([1]) * 32
PARENT_B = bytes([2]) * 32


def raw_block(
    *,
    version: int = 2,
    parents: list[bytes] | None = None,
    payload: bytes | None = None,
    nonce: int = 7,
    parents_count: int | None = None,
) -> bytes:
    parents = [PARENT_A] if parents is None else parents
    count = len(parents) if parents_count is None else parents_count
    payload = b"" if payload is None else payload
    head = struct.pack("<BB", version, count) + b"".join(parents)
    return head + struct.pack("<I", len(payload)) + payload + struct.pack("<Q", nonce)


def tagged_payload(tag: bytes, data: bytes, *, payload_type: int = 5) -> bytes:
    return struct.pack("<IB", payload_type, len(tag)) + tag + struct.pack("<I", len(data)) + data


def test_parse_reads_every_field_of_a_tagged_data_block():
    raw = raw_block(parents=[PARENT_A, PARENT_B], payload=tagged_payload(b"finlab", b"\xaa" * 32), nonce=2**63)
    assert parse_block(raw) == Block(
        protocol_version=2,
        parents=(PARENT_A, PARENT_B),
        payload=TaggedData(tag=b"finlab", data=b"\xaa" * 32),
        nonce=2**63,
    )
    assert serialize_block(parse_block(raw)) == raw


def test_block_without_payload_is_accepted():
    raw = raw_block()
    assert parse_block(raw).payload is None
    assert serialize_block(parse_block(raw)) == raw


def test_block_id_is_blake2b_256_of_the_bytes():
    raw = raw_block(payload=tagged_payload(b"t", b"d"))
    assert block_id_of(raw) == hashlib.blake2b(raw, digest_size=32).digest()
    assert len(block_id_of(raw)) == 32


def test_json_form_round_trips_to_the_same_bytes():
    raw = raw_block(parents=[PARENT_A, PARENT_B], payload=tagged_payload(b"tag", b"\x00\x01"), nonce=42)
    document = block_to_json(parse_block(raw))
    assert document == {
        "protocolVersion": 2,
        "parents": ["0x" + PARENT_A.hex(), "0x" + PARENT_B.hex()],
        "payload": {"type": 5, "tag": "0x746167", "data": "0x0001"},
        "nonce": "42",
    }
    assert serialize_block(block_from_json(document)) == raw


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "protocol version"),
        (raw_block(version=3), "protocol version 3"),
        (raw_block(parents=[]), "1 to 8 parents"),
        (raw_block(parents=[bytes([n]) * 32 for n in range(9)]), "1 to 8 parents"),
        (raw_block(parents=[PARENT_B, PARENT_A]), "sorted"),
        (raw_block(parents=[PARENT_A, PARENT_A]), "sorted"),
        (raw_block(parents=[PARENT_A], parents_count=2), "block ends inside"),
        (raw_block(payload=tagged_payload(b"x" * 65, b"")), "at most 64"),
        (raw_block(payload=tagged_payload(b"t", b"d", payload_type=6)), "payload type 6"),
        (raw_block(payload=tagged_payload(b"t", b"d") + b"\x00"), "payload length does not match"),
        (raw_block()[:-1], "block ends inside nonce"),
        (raw_block() + b"\x00", "unexpected bytes after the nonce"),
        (raw_block(payload=b"\x05\x00\x00\x00\x01"), "block ends inside tag"),
        (raw_block(payload=tagged_payload(b"t", b"d" * 32_800)), "at most 32768"),
    ],
)
def test_malformed_blocks_are_refused_with_the_reason(raw, reason):
    with pytest.raises(BlockFormatError, match=reason):
        parse_block(raw)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "JSON object"),
        ({"protocolVersion": 1, "parents": [], "nonce": "0"}, "protocolVersion"),
        ({"protocolVersion": 2, "parents": "0x00", "nonce": "0"}, "parents must be a list"),
        ({"protocolVersion": 2, "parents": ["0x1234"], "nonce": "0"}, "32 bytes"),
        ({"protocolVersion": 2, "parents": ["0x" + "zz" * 32], "nonce": "0"}, "not valid hex"),
        ({"protocolVersion": 2, "parents": ["0x" + "01" * 32], "nonce": "-1"}, "decimal string"),
        ({"protocolVersion": 2, "parents": ["0x" + "01" * 32], "nonce": 5}, "decimal string"),
        ({"protocolVersion": 2, "parents": ["0x" + "01" * 32], "payload": {"type": 6}, "nonce": "1"}, "payload type"),
        ({"protocolVersion": 2, "parents": ["0x" + "01" * 32], "payload": {"type": 5, "tag": "ab"}}, "0x-prefixed"),
    ],
)
def test_malformed_json_blocks_are_refused(document, reason):
    with pytest.raises(BlockFormatError, match=reason):
        block_from_json(document)


def test_serialize_refuses_a_nonce_beyond_64_bits():
    block = Block(protocol_version=2, parents=(PARENT_A,), payload=None, nonce=2**64)
    with pytest.raises(BlockFormatError, match="64 unsigned bits"):
        serialize_block(block)
