import hashlib
import http.client
import json
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from iota_sdk import Client, utf8_to_hex

from identity.tangle.block import GENESIS_BLOCK_ID, block_id_of, parse_block

RAW = "application/vnd.iota.serializer-v1"


def request(node, method, path, *, body=None, headers=None):
    address = urlsplit(node.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def raw_block(parents, *, tag=b"finlab", data=b"\x11" * 32, nonce=0, version=2):
    payload = struct.pack("<IB", 5, len(tag)) + tag + struct.pack("<I", len(data)) + data
    head = struct.pack("<BB", version, len(parents)) + b"".join(parents)
    return head + struct.pack("<I", len(payload)) + payload + struct.pack("<Q", nonce)


def post_raw(node, raw):
    status, _content_type, body = request(node, "POST", "/api/core/v2/blocks", body=raw, headers={"Content-Type": RAW})
    return status, json.loads(body)


def test_info_has_every_field_iota_sdk_needs(dev_node):
    status, content_type, body = request(dev_node, "GET", "/api/core/v2/info")
    info = json.loads(body)
    assert (status, content_type) == (200, "application/json")
    assert info["status"]["isHealthy"] is True
    assert abs(info["status"]["latestMilestone"]["timestamp"] - time.time()) < 5
    assert info["status"]["latestMilestone"]["index"] == 1
    assert info["protocol"]["minPowScore"] == 0
    assert info["protocol"]["version"] == 2
    assert info["protocol"]["bech32Hrp"] == "tst"
    assert info["protocol"]["tokenSupply"] == "4600000000000000"
    assert info["protocol"]["rentStructure"] == {"vByteCost": 100, "vByteFactorKey": 10, "vByteFactorData": 1}
    assert info["baseToken"]["decimals"] == 6
    assert set(info["metrics"]) == {"blocksPerSecond", "referencedBlocksPerSecond", "referencedRate"}
    assert info["features"] == []


def test_health_answers_200(dev_node):
    assert request(dev_node, "GET", "/health")[0] == 200


def test_empty_network_offers_the_genesis_tip(dev_node):
    status, _content_type, body = request(dev_node, "GET", "/api/core/v2/tips")
    assert (status, json.loads(body)) == (200, {"tips": ["0x" + GENESIS_BLOCK_ID.hex()]})


def test_sdk_posts_a_tagged_data_block_and_reads_it_back(dev_node):
    client = Client(nodes=[dev_node.url])
    block_id, block = client.build_and_post_block(tag=utf8_to_hex("finlab.test"), data="0x" + "ab" * 32)

    raw = bytes(client.get_block_raw(block_id))
    assert block_id == "0x" + hashlib.blake2b(raw, digest_size=32).hexdigest()
    fetched = client.get_block_data(block_id)
    assert fetched.payload.tag == utf8_to_hex("finlab.test")
    assert fetched.payload.data == "0x" + "ab" * 32
    assert fetched.parents == ["0x" + GENESIS_BLOCK_ID.hex()]
    assert fetched.id() == block_id
    assert block.id() == block_id

    metadata = client.get_block_metadata(block_id)
    assert metadata.blockId == block_id
    assert metadata.isSolid is True
    assert metadata.referencedByMilestoneIndex == 2
    assert metadata.ledgerInclusionState == "noTransaction"
    assert client.get_tips() == [block_id]

    second_id, second = client.build_and_post_block(tag=utf8_to_hex("next"), data="0x01")
    assert second.parents == [block_id]
    assert client.get_tips() == [second_id]


def test_raw_and_json_reads_agree(dev_node):
    raw = raw_block([GENESIS_BLOCK_ID])
    status, answer = post_raw(dev_node, raw)
    block_id = "0x" + block_id_of(raw).hex()
    assert (status, answer) == (201, {"blockId": block_id})

    status, content_type, body = request(dev_node, "GET", f"/api/core/v2/blocks/{block_id}", headers={"Accept": RAW})
    assert (status, content_type, body) == (200, RAW, raw)
    status, content_type, body = request(dev_node, "GET", f"/api/core/v2/blocks/{block_id}")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {
        "protocolVersion": 2,
        "parents": ["0x" + GENESIS_BLOCK_ID.hex()],
        "payload": {"type": 5, "tag": "0x" + b"finlab".hex(), "data": "0x" + "11" * 32},
        "nonce": "0",
    }


def test_json_post_stores_the_same_block_as_its_binary_form(dev_node):
    raw = raw_block([GENESIS_BLOCK_ID], nonce=99)
    document = {
        "protocolVersion": 2,
        "parents": ["0x" + GENESIS_BLOCK_ID.hex()],
        "payload": {"type": 5, "tag": "0x" + b"finlab".hex(), "data": "0x" + "11" * 32},
        "nonce": "99",
    }
    status, _content_type, body = request(
        dev_node,
        "POST",
        "/api/core/v2/blocks",
        body=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert (status, json.loads(body)) == (201, {"blockId": "0x" + block_id_of(raw).hex()})
    assert (
        request(dev_node, "GET", f"/api/core/v2/blocks/0x{block_id_of(raw).hex()}", headers={"Accept": RAW})[2] == raw
    )


def test_posting_the_same_block_twice_returns_the_same_id(dev_node):
    raw = raw_block([GENESIS_BLOCK_ID])
    assert post_raw(dev_node, raw) == post_raw(dev_node, raw)
    info = json.loads(request(dev_node, "GET", "/api/core/v2/info")[2])
    assert info["status"]["latestMilestone"]["index"] == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x02", "block ends inside parents count"),
        (raw_block([GENESIS_BLOCK_ID], version=1), "protocol version 1 is not 2"),
        (raw_block([]), "a block needs 1 to 8 parents, got 0"),
        (raw_block([bytes([2]) * 32, bytes([1]) * 32]), "parents must be sorted lexicographically and unique"),
        (raw_block([GENESIS_BLOCK_ID], tag=b"t" * 65), "tag is 65 bytes; at most 64 are allowed"),
        (raw_block([GENESIS_BLOCK_ID]) + b"\x00", "1 unexpected bytes after the nonce"),
        (raw_block([bytes([7]) * 32]), "parent 0x" + "07" * 32 + " is unknown to the node"),
    ],
)
def test_malformed_blocks_are_rejected_with_400_and_stored_nowhere(dev_node, raw, message):
    status, answer = post_raw(dev_node, raw)
    assert (status, answer) == (400, {"error": {"code": "400", "message": f"invalid block: {message}"}})
    assert request(dev_node, "GET", f"/api/core/v2/blocks/0x{block_id_of(raw).hex()}")[0] == 404
    assert json.loads(request(dev_node, "GET", "/api/core/v2/tips")[2]) == {"tips": ["0x" + GENESIS_BLOCK_ID.hex()]}


def test_malformed_json_post_is_rejected_with_400(dev_node):
    status, _content_type, body = request(
        dev_node, "POST", "/api/core/v2/blocks", body=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert json.loads(body)["error"]["message"].startswith("invalid block: body is not JSON")


def test_unsupported_content_type_is_refused_with_415(dev_node):
    status, _content_type, body = request(
        dev_node, "POST", "/api/core/v2/blocks", body=b"x", headers={"Content-Type": "text/plain"}
    )
    assert status == 415
    assert json.loads(body)["error"]["code"] == "415"


def test_unknown_block_is_404_and_bad_id_is_400(dev_node):
    assert request(dev_node, "GET", "/api/core/v2/blocks/0x" + "00" * 32)[0] == 404
    assert request(dev_node, "GET", "/api/core/v2/blocks/0x" + "00" * 32 + "/metadata")[0] == 404
    status, _content_type, body = request(dev_node, "GET", "/api/core/v2/blocks/0x1234")
    assert (status, json.loads(body)["error"]["message"]) == (400, "block id must be 32 bytes, got 2")
    assert request(dev_node, "GET", "/api/core/v2/unknown")[0] == 404


def test_blocks_survive_a_restart(dev_node):
    client = Client(nodes=[dev_node.url])
    block_id, _block = client.build_and_post_block(tag=utf8_to_hex("persist"), data="0x" + "cd" * 32)
    raw_before = request(dev_node, "GET", f"/api/core/v2/blocks/{block_id}", headers={"Accept": RAW})[2]

    dev_node.restart()

    status, _content_type, raw_after = request(
        dev_node, "GET", f"/api/core/v2/blocks/{block_id}", headers={"Accept": RAW}
    )
    assert (status, raw_after) == (200, raw_before)
    assert parse_block(raw_after).payload.data == b"\xcd" * 32
    assert json.loads(request(dev_node, "GET", "/api/core/v2/tips")[2]) == {"tips": [block_id]}
    assert json.loads(request(dev_node, "GET", "/api/core/v2/info")[2])["status"]["latestMilestone"]["index"] == 2
    metadata = json.loads(request(dev_node, "GET", f"/api/core/v2/blocks/{block_id}/metadata")[2])
    assert metadata["referencedByMilestoneIndex"] == 2


def test_concurrent_posts_are_all_stored(dev_node):
    raws = [raw_block([GENESIS_BLOCK_ID], nonce=nonce) for nonce in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda raw: post_raw(dev_node, raw), raws))
    assert answers == [(201, {"blockId": "0x" + block_id_of(raw).hex()}) for raw in raws]
    info = json.loads(request(dev_node, "GET", "/api/core/v2/info")[2])
    assert info["status"]["latestMilestone"]["index"] == 41
    assert len(json.loads(request(dev_node, "GET", "/api/core/v2/tips")[2])["tips"]) == 8


def test_oversized_body_is_refused_with_413_before_reading_it(dev_node):
    status, _content_type, body = request(
        dev_node, "POST", "/api/core/v2/blocks", body=b"x", headers={"Content-Type": RAW, "Content-Length": "200000"}
    )
    assert (status, json.loads(body)["error"]["message"]) == (413, "body exceeds 131072 bytes")
