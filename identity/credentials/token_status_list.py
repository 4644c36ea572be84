"""IETF Token Status List (draft-ietf-oauth-status-list): a status list carried in a signed JWT.

A referenced token (here an SD-JWT VC) names its entry with ``status: {status_list: {idx, uri}}``. The list at
``uri`` is a Status List Token: a JWT with ``typ`` ``statuslist+jwt``, ``sub`` = the ``uri``, ``iat``, optional
``exp`` and ``ttl`` (seconds a verifier may cache it), and ``status_list: {bits, lst}`` where ``lst`` is base64url
(no padding) of the ZLIB (RFC 1950) compressed bytes. Each entry is ``bits`` wide (1, 2, 4 or 8); entry ``idx``
sits in byte ``idx * bits // 8`` starting at the *least* significant bit (the opposite of the W3C Bitstring Status
List). Values: 0 valid, 1 invalid (revoked), 2 suspended, 3 application specific.

Nothing here touches the database or the network; signing and fetching belong to the callers.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from identity.credentials.encoding import EncodingError, b64url_decode, b64url_encode

STATUS_LIST_JWT_TYPE = "statuslist+jwt"
MEDIA_TYPE = "application/statuslist+jwt"
ALLOWED_BITS = (1, 2, 4, 8)
_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024


class TokenStatus(enum.IntEnum):
    """Status values of the draft's registry."""

    VALID = 0
    INVALID = 1
    SUSPENDED = 2
    APPLICATION_SPECIFIC = 3


class TokenStatusListError(ValueError):
    """A Status List Token or reference that cannot be used: wrong shape, wrong subject, expired, index outside."""


@dataclass(frozen=True)
class StatusReference:
    """Where a referenced token's status lives: entry ``index`` of the list published at ``uri``."""

    uri: str
    index: int


class TokenStatusList:
    """A list of ``bits``-wide status values, packed least significant bit first."""

    def __init__(self, *, bits: int, size: int | None = None, packed: bytes | None = None) -> None:
        if bits not in ALLOWED_BITS:
            raise TokenStatusListError(f"bits must be one of {ALLOWED_BITS}")
        if packed is None:
            if size is None or size < 1:
                raise TokenStatusListError("an empty list needs a positive size")
            packed = bytes((size * bits + 7) // 8)
        self.bits = bits
        self._bytes = bytearray(packed)

    @property
    def size(self) -> int:
        """How many entries the list holds."""
        return len(self._bytes) * 8 // self.bits

    @property
    def packed(self) -> bytes:
        """The entries as packed bytes (what ``lst`` compresses)."""
        return bytes(self._bytes)

    def get(self, index: int) -> int:
        byte_index, shift = self._locate(index)
        return (self._bytes[byte_index] >> shift) & ((1 << self.bits) - 1)

    def set(self, index: int, value: int) -> None:
        if not 0 <= value < (1 << self.bits):
            raise TokenStatusListError(f"status {value} does not fit in {self.bits} bits")
        byte_index, shift = self._locate(index)
        mask = ((1 << self.bits) - 1) << shift
        self._bytes[byte_index] = (self._bytes[byte_index] & ~mask & 0xFF) | (value << shift)

    def to_claim(self) -> dict[str, Any]:
        """The ``status_list`` claim: ``bits`` and ``lst`` (base64url of the ZLIB-compressed bytes, level 9)."""
        return {"bits": self.bits, "lst": b64url_encode(zlib.compress(bytes(self._bytes), 9))}

    @classmethod
    def from_claim(cls, claim: object) -> TokenStatusList:
        """Parse a ``status_list`` claim; refuses unknown widths and decompression bombs."""
        if not isinstance(claim, Mapping) or not isinstance(claim.get("lst"), str):
            raise TokenStatusListError("status_list needs bits and lst")
        bits = claim.get("bits")
        if not isinstance(bits, int) or isinstance(bits, bool) or bits not in ALLOWED_BITS:
            raise TokenStatusListError(f"bits must be one of {ALLOWED_BITS}")
        try:
            decompressor = zlib.decompressobj()
            packed = decompressor.decompress(b64url_decode(claim["lst"]), _MAX_DECOMPRESSED_BYTES)
        except (EncodingError, zlib.error) as error:
            raise TokenStatusListError(f"undecodable lst: {error}") from error
        if decompressor.unconsumed_tail or not decompressor.eof or not packed:
            raise TokenStatusListError("lst is truncated, empty or too large")
        return cls(bits=bits, packed=packed)

    def _locate(self, index: int) -> tuple[int, int]:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise TokenStatusListError(f"status index {index!r} is outside the list of {self.size} entries")
        position = index * self.bits
        return position // 8, position % 8


def status_reference_from(claims: Mapping[str, Any]) -> StatusReference | None:
    """The ``status.status_list`` reference of a token's claims; None when it has none, an error when malformed."""
    status = claims.get("status")
    if status is None:
        return None
    if not isinstance(status, Mapping):
        raise TokenStatusListError("status must be an object")
    reference = status.get("status_list")
    if reference is None:
        return None
    if not isinstance(reference, Mapping):
        raise TokenStatusListError("status.status_list must be an object")
    uri, index = reference.get("uri"), reference.get("idx")
    if not isinstance(uri, str) or not uri or isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise TokenStatusListError("status.status_list needs a uri and a non-negative integer idx")
    return StatusReference(uri=uri, index=index)


def status_claim(reference: StatusReference) -> dict[str, Any]:
    """The ``status`` claim a referenced token carries."""
    return {"status_list": {"idx": reference.index, "uri": reference.uri}}


def status_list_token_payload(
    *, uri: str, status_list: TokenStatusList, issued_at: datetime, expires_at: datetime, ttl_seconds: int
) -> dict[str, Any]:
    """The payload of a Status List Token published at ``uri``."""
    return {
        "sub": uri,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "ttl": ttl_seconds,
        "status_list": status_list.to_claim(),
    }


@dataclass(frozen=True)
class CheckedStatusList:
    """A Status List Token's payload after its checks (the signature is checked by the caller)."""

    status_list: TokenStatusList
    issued_at: datetime
    expires_at: datetime | None
    ttl_seconds: int | None


def status_list_token_check(
    *, header: Mapping[str, Any], payload: Mapping[str, Any], uri: str, now: datetime
) -> CheckedStatusList:
    """Check type, subject (the token must be the one published at ``uri``), ``iat`` and ``exp``, and decode it."""
    if header.get("typ") != STATUS_LIST_JWT_TYPE:
        raise TokenStatusListError(f"a Status List Token has typ {STATUS_LIST_JWT_TYPE}")
    if payload.get("sub") != uri:
        raise TokenStatusListError("the Status List Token's sub is not the uri it was fetched from")
    issued_at, expires_at, ttl = payload.get("iat"), payload.get("exp"), payload.get("ttl")
    if not isinstance(issued_at, int) or isinstance(issued_at, bool):
        raise TokenStatusListError("iat must be a NumericDate")
    expiry = None
    if expires_at is not None:
        if not isinstance(expires_at, int) or isinstance(expires_at, bool):
            raise TokenStatusListError("exp must be a NumericDate")
        expiry = datetime.fromtimestamp(expires_at, UTC)
        if expiry <= now:
            raise TokenStatusListError("the Status List Token has expired")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0):
        raise TokenStatusListError("ttl must be a non-negative number of seconds")
    return CheckedStatusList(
        status_list=TokenStatusList.from_claim(payload.get("status_list")),
        issued_at=datetime.fromtimestamp(issued_at, UTC),
        expires_at=expiry,
        ttl_seconds=ttl,
    )
