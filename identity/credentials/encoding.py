"""Byte encodings shared by the credential formats: base64url without padding, multibase, multicodec.

JOSE (JWT, JWK, SD-JWT) uses unpadded base64url; Data Integrity proofs and Multikey values use multibase
base58btc (prefix ``z``); the Bitstring Status List uses multibase base64url (prefix ``u``).
"""

import binascii
from typing import Any

import base58
import orjson

ED25519_PUBLIC_KEY_MULTICODEC = b"\xed\x01"
ED25519_PUBLIC_KEY_LENGTH = 32


class EncodingError(ValueError):
    """Raised when an encoded value cannot be decoded into the expected bytes."""


# binascii directly, not base64.urlsafe_b64*: the same codec without four layers of Python wrappers, which cost more
# than the decoding itself for the short values of JOSE (a verified presentation decodes about a dozen of them).
_STANDARD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
# Decoding maps the URL-safe alphabet onto the standard one, and "=", "+" and "/" onto "!", which binascii's strict
# mode refuses like any other character outside the alphabet (whitespace included).
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_=+/", b"+/!!!")


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without ``=`` padding (RFC 7515 section 2)."""
    return binascii.b2a_base64(data, newline=False).translate(_STANDARD_TO_URLSAFE).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; padding, whitespace, the standard alphabet and any other character are refused."""
    try:
        data = text.encode("ascii").translate(_URLSAFE_TO_STANDARD)
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True)
    except (binascii.Error, ValueError) as error:
        raise EncodingError("invalid base64url value: unpadded, URL-safe alphabet only") from error


def json_decode(data: bytes | str) -> Any:
    """One JSON value from UTF-8 bytes (or text); anything else raises ``ValueError``.

    orjson, not ``json``: several times faster on the small objects of JOSE, and stricter (invalid UTF-8, lone
    surrogates, NaN and integers beyond 64 bits are refused)."""
    return orjson.loads(data)


def multibase_base58btc_encode(data: bytes) -> str:
    """Multibase base58btc: ``z`` followed by the Bitcoin-alphabet base58 of the bytes."""
    return "z" + base58.b58encode(data).decode("ascii")


def multibase_base58btc_decode(text: str) -> bytes:
    """Decode a ``z``-prefixed multibase base58btc value."""
    if not text.startswith("z"):
        raise EncodingError("multibase value must use base58btc (prefix 'z')")
    try:
        return base58.b58decode(text[1:])
    except ValueError as error:
        raise EncodingError("invalid base58btc value") from error


def multibase_base64url_encode(data: bytes) -> str:
    """Multibase base64url without padding: ``u`` followed by the unpadded base64url text."""
    return "u" + b64url_encode(data)


def multibase_base64url_decode(text: str) -> bytes:
    """Decode a ``u``-prefixed multibase base64url value."""
    if not text.startswith("u"):
        raise EncodingError("multibase value must use base64url (prefix 'u')")
    return b64url_decode(text[1:])


def ed25519_public_key_to_multibase(public_key: bytes) -> str:
    """Multikey ``publicKeyMultibase``: base58btc of the ed25519-pub multicodec (0xed01) and the 32 key bytes."""
    if len(public_key) != ED25519_PUBLIC_KEY_LENGTH:
        raise EncodingError("an Ed25519 public key is 32 bytes")
    return multibase_base58btc_encode(ED25519_PUBLIC_KEY_MULTICODEC + public_key)


def ed25519_public_key_from_multibase(text: str) -> bytes:
    """Inverse of :func:`ed25519_public_key_to_multibase`; refuses other key types and lengths."""
    decoded = multibase_base58btc_decode(text)
    if not decoded.startswith(ED25519_PUBLIC_KEY_MULTICODEC):
        raise EncodingError("multikey is not an Ed25519 public key (multicodec 0xed01)")
    public_key = decoded[len(ED25519_PUBLIC_KEY_MULTICODEC) :]
    if len(public_key) != ED25519_PUBLIC_KEY_LENGTH:
        raise EncodingError("an Ed25519 public key is 32 bytes")
    return public_key
