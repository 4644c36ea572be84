from __future__ import annotations

import base64
import gzip

import pytest

from identity.credentials.status_list import (
    StatusBitstring,
    StatusListError,
    bitstring_from_status_list_credential,
    build_status_list_credential,
    build_status_list_entry,
)
from identity.tests.credentials.conftest import NOW, REVOCATION_LIST_URL

# The W3C Bitstring Status List v1.0 example: 131,072 zero bits, GZIP, multibase base64url.
W3C_ALL_ZEROS_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_all_zero_list_encodes_to_the_w3c_example():
    assert StatusBitstring().encode() == W3C_ALL_ZEROS_ENCODED_LIST


def test_w3c_example_decodes_to_16_kib_of_zeros():
    decoded = StatusBitstring.decode(W3C_ALL_ZEROS_ENCODED_LIST)

    assert decoded.size_in_bits == 131_072
    assert decoded.to_bytes() == bytes(16_384)


def test_set_clear_and_get_use_most_significant_bit_first():
    bitstring = StatusBitstring()
    bitstring.set(0)
    bitstring.set(9)
    bitstring.set(131_071)

    assert bitstring.to_bytes()[:2] == b"\x80\x40"
    assert bitstring.to_bytes()[-1] == 0x01
    assert [bitstring.get(index) for index in (0, 1, 9, 131_071)] == [True, False, True, True]
    bitstring.clear(9)
    assert bitstring.get(9) is False
    assert bitstring.get(0) is True


def test_encoding_round_trips_and_is_gzip_base64url():
    bitstring = StatusBitstring()
    bitstring.set(42)
    encoded = bitstring.encode()

    assert encoded.startswith("u")
    assert "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == bitstring.to_bytes()
    assert StatusBitstring.decode(encoded).get(42) is True


def test_lists_shorter_than_the_minimum_are_refused():
    short = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024))).decode().rstrip("=")
    with pytest.raises(StatusListError):
        StatusBitstring.decode(short)
    with pytest.raises(StatusListError):
        StatusBitstring(size_in_bits=8)


def test_indexes_outside_the_list_are_refused():
    with pytest.raises(StatusListError):
        StatusBitstring().get(131_072)
    with pytest.raises(StatusListError):
        StatusBitstring().set(-1)


def test_status_list_credential_and_entry():
    bitstring = StatusBitstring()
    bitstring.set(5)
    credential = build_status_list_credential(
        list_url=REVOCATION_LIST_URL,
        issuer="did:web:portal.example",
        status_purpose="revocation",
        bitstring=bitstring,
        valid_from=NOW,
    )

    assert credential == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": REVOCATION_LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:web:portal.example",
        "validFrom": "2026-03-01T12:00:00Z",
        "credentialSubject": {
            "id": f"{REVOCATION_LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": bitstring.encode(),
        },
    }
    assert bitstring_from_status_list_credential(credential, status_purpose="revocation").get(5) is True
    with pytest.raises(StatusListError):
        bitstring_from_status_list_credential(credential, status_purpose="suspension")
    assert build_status_list_entry(list_url=REVOCATION_LIST_URL, index=5, status_purpose="suspension") == {
        "id": f"{REVOCATION_LIST_URL}#5",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "5",
        "statusListCredential": REVOCATION_LIST_URL,
    }
