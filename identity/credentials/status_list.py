"""W3C Bitstring Status List v1.0: the published list of revoked or suspended credentials.

Bit 0 is the most significant bit of the first byte. The list is at least 131,072 bits (16 KiB) so that one
credential's bit does not identify it among few; ``encodedList`` is multibase base64url (``u``) of the GZIP of the
bits. Compression is deterministic (modification time 0, default level), so the same bits give the same text.
"""

import gzip
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from identity.credentials.core import VC_V2_CONTEXT, format_datetime
from identity.credentials.encoding import EncodingError, multibase_base64url_decode, multibase_base64url_encode

MINIMUM_BITS = 131_072
STATUS_PURPOSES = ("revocation", "suspension")
_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024


class StatusListError(ValueError):
    """Raised for an undecodable list, an index outside the list, or an unsupported purpose."""


class StatusBitstring:
    """A mutable bitstring of credential statuses; a set bit means revoked (or suspended) for its list's purpose."""

    def __init__(self, *, size_in_bits: int = MINIMUM_BITS, bits: bytes | None = None) -> None:
        if size_in_bits < MINIMUM_BITS or size_in_bits % 8:
            raise StatusListError(f"a status list has at least {MINIMUM_BITS} bits, in whole bytes")
        if bits is not None and len(bits) * 8 != size_in_bits:
            raise StatusListError("bits do not match the list size")
        self._bytes = bytearray(bits if bits is not None else size_in_bits // 8)

    @property
    def size_in_bits(self) -> int:
        """Number of status entries the list can hold."""
        return len(self._bytes) * 8

    def get(self, index: int) -> bool:
        """True when the bit at ``index`` is set."""
        byte_index, mask = self._locate(index)
        return bool(self._bytes[byte_index] & mask)

    def set(self, index: int) -> None:
        """Set the bit at ``index`` (revoke, or suspend for a suspension list)."""
        byte_index, mask = self._locate(index)
        self._bytes[byte_index] |= mask

    def clear(self, index: int) -> None:
        """Clear the bit at ``index`` (lift a suspension)."""
        byte_index, mask = self._locate(index)
        self._bytes[byte_index] &= ~mask & 0xFF

    def to_bytes(self) -> bytes:
        """The raw bits, most significant bit first."""
        return bytes(self._bytes)

    def encode(self) -> str:
        """``encodedList`` value: ``u`` + base64url (no padding) of the GZIP-compressed bits."""
        compressor = zlib.compressobj(wbits=31)
        return multibase_base64url_encode(compressor.compress(bytes(self._bytes)) + compressor.flush())

    @classmethod
    def decode(cls, encoded_list: str) -> "StatusBitstring":
        """Parse an ``encodedList``; refuses lists shorter than the minimum and decompression bombs."""
        try:
            compressed = multibase_base64url_decode(encoded_list)
            decompressor = zlib.decompressobj(wbits=31)
            bits = decompressor.decompress(compressed, _MAX_DECOMPRESSED_BYTES)
        except (EncodingError, zlib.error, gzip.BadGzipFile) as error:
            raise StatusListError(f"undecodable encodedList: {error}") from error
        if decompressor.unconsumed_tail or not decompressor.eof:
            raise StatusListError("encodedList is truncated or too large")
        return cls(size_in_bits=len(bits) * 8, bits=bits)

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < self.size_in_bits:
            raise StatusListError(f"status index {index} is outside the list of {self.size_in_bits} bits")
        return index // 8, 0x80 >> (index % 8)


def build_status_list_credential(
    *,
    list_url: str,
    issuer: str,
    status_purpose: str,
    bitstring: StatusBitstring,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """Unsigned BitstringStatusListCredential published at ``list_url``; secure it like any other credential."""
    if status_purpose not in STATUS_PURPOSES:
        raise StatusListError(f"unsupported status purpose {status_purpose!r}")
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": status_purpose,
            "encodedList": bitstring.encode(),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    return credential


def build_status_list_entry(*, list_url: str, index: int, status_purpose: str) -> dict[str, str]:
    """The ``credentialStatus`` entry that points a credential at bit ``index`` of the list at ``list_url``."""
    if status_purpose not in STATUS_PURPOSES:
        raise StatusListError(f"unsupported status purpose {status_purpose!r}")
    if index < 0:
        raise StatusListError("status index must not be negative")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": status_purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def bitstring_from_status_list_credential(credential: Mapping[str, Any], *, status_purpose: str) -> StatusBitstring:
    """Decode the list of a (verified) BitstringStatusListCredential, checking it serves ``status_purpose``."""
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        raise StatusListError("not a BitstringStatusListCredential")
    purposes = subject.get("statusPurpose")
    purposes = purposes if isinstance(purposes, list) else [purposes]
    if status_purpose not in purposes:
        raise StatusListError(f"status list does not serve {status_purpose!r}")
    return StatusBitstring.decode(str(subject.get("encodedList", "")))
