"""IETF Token Status List encoding, checked against the examples of draft-ietf-oauth-status-list (section 4.1,
"Status List in JSON Format": the 1-bit list ``eNrbuRgAAhcBXQ`` and the 2-bit list ``eNo76fITAAPfAgc``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.credentials.token_status_list import (
    StatusReference,
    TokenStatusList,
    TokenStatusListError,
    status_claim,
    status_list_token_check,
    status_list_token_payload,
    status_reference_from,
)

ONE_BIT = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
TWO_BITS = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
URI = "https://issuer.test/statuslists/1"


def test_the_drafts_one_bit_example_decodes_and_encodes():
    decoded = TokenStatusList.from_claim({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})
    assert [decoded.get(index) for index in range(16)] == ONE_BIT

    built = TokenStatusList(bits=1, size=16)
    for index, value in enumerate(ONE_BIT):
        built.set(index, value)
    assert built.packed == bytes.fromhex("b9a3")
    assert built.to_claim() == {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}


def test_the_drafts_two_bit_example_decodes_and_encodes():
    decoded = TokenStatusList.from_claim({"bits": 2, "lst": "eNo76fITAAPfAgc"})
    assert [decoded.get(index) for index in range(12)] == TWO_BITS

    built = TokenStatusList(bits=2, size=12)
    for index, value in enumerate(TWO_BITS):
        built.set(index, value)
    assert built.to_claim() == {"bits": 2, "lst": "eNo76fITAAPfAgc"}


@pytest.mark.parametrize(
    "claim",
    [
        {"bits": 3, "lst": "eNrbuRgAAhcBXQ"},
        {"bits": True, "lst": "eNrbuRgAAhcBXQ"},
        {"bits": 1, "lst": "not zlib"},
        {"bits": 1},
        "eNrbuRgAAhcBXQ",
    ],
)
def test_malformed_lists_are_refused(claim):
    with pytest.raises(TokenStatusListError):
        TokenStatusList.from_claim(claim)


def test_an_index_outside_the_list_or_a_value_too_wide_is_refused():
    entries = TokenStatusList(bits=2, size=8)
    with pytest.raises(TokenStatusListError):
        entries.get(8)
    with pytest.raises(TokenStatusListError):
        entries.set(0, 4)


def test_the_reference_round_trips_and_malformed_references_are_refused():
    reference = StatusReference(uri=URI, index=42)
    assert status_reference_from({"status": status_claim(reference)}) == reference
    assert status_reference_from({}) is None
    for status in ({"status_list": {"uri": URI, "idx": -1}}, {"status_list": {"idx": 1}}, "x"):
        with pytest.raises(TokenStatusListError):
            status_reference_from({"status": status})


def test_the_token_payload_is_checked_for_type_subject_and_expiry():
    entries = TokenStatusList(bits=2, size=16)
    entries.set(5, 2)
    payload = status_list_token_payload(
        uri=URI, status_list=entries, issued_at=NOW, expires_at=NOW + timedelta(days=1), ttl_seconds=300
    )
    header = {"alg": "ES256", "typ": "statuslist+jwt"}

    checked = status_list_token_check(header=header, payload=payload, uri=URI, now=NOW)

    assert checked.status_list.get(5) == 2 and checked.ttl_seconds == 300
    with pytest.raises(TokenStatusListError, match="typ"):
        status_list_token_check(header={"typ": "JWT"}, payload=payload, uri=URI, now=NOW)
    with pytest.raises(TokenStatusListError, match="sub"):
        status_list_token_check(header=header, payload=payload, uri=URI + "x", now=NOW)
    with pytest.raises(TokenStatusListError, match="expired"):
        status_list_token_check(header=header, payload=payload, uri=URI, now=NOW + timedelta(days=2))
