import hashlib
import http.client
import json
import socket
import sqlite3
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from iota_sdk import ClientError

from identity.merkle import build_tree, verify_inclusion
from identity.tangle.anchor import (
    AnchorBlockNotFound,
    AnchorIntegrityError,
    AnchorRejected,
    AnchorUnavailable,
    IotaSdkAnchor,
    classify_client_error,
    get_anchor,
)
from identity.tangle.block import TaggedData, block_id_of
from identity.tangle.store import DATABASE_NAME
from identity.tangle.testing import DevNode, DevNodeStartError

ROOT = hashlib.sha256(b"batch-1").digest()


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def raw_block_bytes(node, block_id: str) -> bytes:
    address = urlsplit(node.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request(
        "GET", f"/api/core/v2/blocks/{block_id}", headers={"Accept": "application/vnd.iota.serializer-v1"}
    )
    body = connection.getresponse().read()
    connection.close()
    return body


def test_anchor_root_posts_the_root_as_tagged_data(dev_node):
    anchor = get_anchor(dev_node.url)
    receipt = anchor.anchor_root(ROOT, tag="finlab.credentials.v1")

    assert receipt.root == ROOT
    assert receipt.tag == "finlab.credentials.v1"
    assert receipt.node_url == dev_node.url
    assert receipt.block_id == "0x" + block_id_of(raw_block_bytes(dev_node, receipt.block_id)).hex()
    assert anchor.fetch_block(receipt.block_id) == TaggedData(tag=b"finlab.credentials.v1", data=ROOT)
    assert anchor.is_anchored(receipt.block_id, ROOT) is True
    assert anchor.is_anchored(receipt.block_id, hashlib.sha256(b"other").digest()) is False


def test_leaf_is_provable_end_to_end_from_block_and_proof(dev_node):
    leaves = [hashlib.sha256(b"credential-%d" % index).digest() for index in range(10)]
    tree = build_tree(leaves=leaves)
    receipt = get_anchor(dev_node.url).anchor_root(tree.root, tag="finlab.batch")

    stored_proof = json.loads(json.dumps(tree.proofs[7].to_json()))
    anchored = get_anchor(dev_node.url).fetch_block(receipt.block_id)
    assert anchored is not None
    assert verify_inclusion(leaves[7], stored_proof, anchored.data) is True
    assert verify_inclusion(hashlib.sha256(b"forged").digest(), stored_proof, anchored.data) is False


def test_unknown_block_is_not_anchored_and_fetch_says_not_found(dev_node):
    anchor = get_anchor(dev_node.url)
    assert anchor.is_anchored("0x" + "ee" * 32, ROOT) is False
    with pytest.raises(AnchorBlockNotFound):
        anchor.fetch_block("0x" + "ee" * 32)


def test_malformed_block_id_is_refused_before_any_request(dev_node):
    with pytest.raises(ValueError, match="32 bytes"):
        get_anchor(dev_node.url).fetch_block("0x1234")


@pytest.mark.parametrize(
    ("root", "tag"),
    [(b"short", "t"), (ROOT, ""), (ROOT, "x" * 65), (ROOT.hex(), "t")],
    ids=["short-root", "empty-tag", "long-tag", "hex-root"],
)
def test_bad_root_or_tag_is_refused(dev_node, root, tag):
    with pytest.raises(ValueError):
        get_anchor(dev_node.url).anchor_root(root, tag=tag)


def test_node_that_never_ran_raises_anchor_unavailable():
    anchor = IotaSdkAnchor(node_url=f"http://127.0.0.1:{free_port()}", api_timeout=timedelta(seconds=2))
    with pytest.raises(AnchorUnavailable, match="no healthy node available"):
        anchor.anchor_root(ROOT, tag="finlab.test")
    with pytest.raises(AnchorUnavailable):
        anchor.is_anchored("0x" + "ee" * 32, ROOT)


def test_node_going_down_raises_anchor_unavailable_and_recovers_after_restart(dev_node):
    anchor = IotaSdkAnchor(node_url=dev_node.url, api_timeout=timedelta(seconds=2))
    first = anchor.anchor_root(ROOT, tag="finlab.test")

    dev_node.stop()
    # Refused on a new connection, or cut on the one the client kept from before, depending on whether the client
    # had seen its kept connection close by then.
    with pytest.raises(AnchorUnavailable, match=r"Connection refused|connection closed"):
        anchor.anchor_root(ROOT, tag="finlab.test")
    with pytest.raises(AnchorUnavailable):
        anchor.is_anchored(first.block_id, ROOT)

    dev_node.start()
    assert anchor.is_anchored(first.block_id, ROOT) is True
    second = anchor.anchor_root(ROOT, tag="finlab.test")
    assert second.block_id != first.block_id


def test_block_bytes_that_do_not_match_the_id_are_refused(dev_node):
    anchor = get_anchor(dev_node.url)
    genuine = anchor.anchor_root(ROOT, tag="finlab.test")
    forged = anchor.anchor_root(hashlib.sha256(b"forged").digest(), tag="finlab.test")
    dev_node.stop()
    with sqlite3.connect(dev_node.data_dir / DATABASE_NAME) as database:
        forged_raw = database.execute(
            "SELECT raw FROM blocks WHERE block_id = ?", (bytes.fromhex(forged.block_id[2:]),)
        )
        database.execute(
            "UPDATE blocks SET raw = ? WHERE block_id = ?",
            (forged_raw.fetchone()[0], bytes.fromhex(genuine.block_id[2:])),
        )
    database.close()
    dev_node.start()

    with pytest.raises(AnchorIntegrityError, match=f"do not hash to {genuine.block_id}"):
        anchor.fetch_block(genuine.block_id)
    with pytest.raises(AnchorIntegrityError):
        anchor.is_anchored(genuine.block_id, hashlib.sha256(b"forged").digest())


def test_second_node_on_a_taken_port_fails_to_start(dev_node, tmp_path):
    with pytest.raises(DevNodeStartError, match="dev node did not start") as failure:
        DevNode(data_dir=tmp_path / "other", port=dev_node.port).start()

    assert "Address already in use" in str(failure.value)  # the node's own output says why


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"type": "client", "error": "no healthy node available"}, AnchorUnavailable),
        (
            {"type": "client", "error": "node error: error sending request for url (x): Connection refused"},
            AnchorUnavailable,
        ),
        (
            {"type": "client", "error": "node error: Response error with status code 503: busy, URL: x"},
            AnchorUnavailable,
        ),
        (
            {"type": "client", "error": "node error: Response error with status code 429: slow down, URL: x"},
            AnchorUnavailable,
        ),
        ({"type": "client", "error": "node error: Response error with status code 400: bad, URL: x"}, AnchorRejected),
        (
            {"type": "client", "error": "node error: Response error with status code 404: gone, URL: x"},
            AnchorBlockNotFound,
        ),
        ({"type": "client", "error": "node error: The requested data http://x was not found."}, AnchorBlockNotFound),
        ({"type": "unpack", "error": "unpacker error while unpacking: not enough bytes"}, AnchorRejected),
    ],
)
def test_sdk_errors_map_to_the_anchor_error_family(payload, expected):
    assert type(classify_client_error(ClientError(payload))) is expected


def test_get_anchor_refuses_unknown_schemes():
    with pytest.raises(ValueError, match="no anchor backend for URL scheme 'ftp'"):
        get_anchor("ftp://node.example")
