"""Byte encodings shared by the credential formats: base64url without padding, multibase, multicodec.

JOSE (JWT, JWK, SD-JWT) uses unpadded base64url; Data Integrity proofs and Multikey values use multibase
base58btc (prefix ``z``); the Bitstring Status List uses multibase base64url (prefix ``u``).
"""

import base64
import binascii

import base58

ED25519_PUBLIC_KEY_MULTICODEC = b"\xed\x01"
ED25519_PUBLIC_KEY_LENGTH = 32


class EncodingError(ValueError):
    """Raised when an encoded value cannot be decoded into the expected bytes."""


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without ``=`` padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; padding, whitespace and the standard alphabet are refused."""
    if "=" in text or "+" in text or "/" in text:
        raise EncodingError("base64url value must be unpadded and use the URL-safe alphabet")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise EncodingError("invalid base64url value") from error


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
