"""The compact signed token inside a QR payment code, and its rendering as PNG and SVG.

Layout (big-endian), 87 bytes before encoding:

    format (1 byte, = 1) | key id (1 byte) | code public id (16 bytes UUID) | code version (uint16) |
    expiry (uint32, seconds since the Unix epoch, UTC) | Ed25519 signature over the 36 bytes before it (64 bytes)

The text form is `FLQ1:` followed by RFC 4648 base32 without padding: only QR "alphanumeric" characters, so the
symbol stays small (version 8 at level M). No personal data is in it. The signing key comes from the setting
`PAYMENTS_QR_SIGNING_KEY` (base64url of a 32-byte Ed25519 seed) or, when that is empty, is derived from `SECRET_KEY`
with HKDF-SHA256, so the embedded default needs no extra secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import io
import struct
import uuid
from dataclasses import dataclass

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from core.errors import ValidationFailed

TOKEN_PREFIX = "FLQ1:"  # noqa: S105 - a format marker, not a secret
TOKEN_FORMAT = 1
KEY_ID = 1
_BODY = struct.Struct(">BB16sHI")
SIGNATURE_LENGTH = 64
TOKEN_BYTES = _BODY.size + SIGNATURE_LENGTH
MAX_TOKEN_TEXT = 200


class QrTokenError(ValidationFailed):
    """A token that cannot be trusted: `code` is `token_malformed` or `token_signature_invalid`."""


@dataclass(frozen=True, slots=True)
class QrTokenClaims:
    """What a verified token says: which code, which version of it, and until when (timezone-aware UTC)."""

    public_id: uuid.UUID
    version: int
    expires_at: datetime.datetime


@functools.cache
def _signing_key(seed_setting: str, secret_key: str) -> Ed25519PrivateKey:
    if seed_setting:
        seed = base64.urlsafe_b64decode(seed_setting + "=" * (-len(seed_setting) % 4))
    else:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"finlab-qr-code", info=b"signing key v1").derive(
            secret_key.encode()
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def qr_signing_key() -> Ed25519PrivateKey:
    """The portal's Ed25519 key for QR code tokens (see the module docstring for where it comes from)."""
    return _signing_key(settings.PAYMENTS_QR_SIGNING_KEY, settings.SECRET_KEY)


def qr_verification_key() -> Ed25519PublicKey:
    return _verification_key(settings.PAYMENTS_QR_SIGNING_KEY, settings.SECRET_KEY)


@functools.cache
def _verification_key(seed_setting: str, secret_key: str) -> Ed25519PublicKey:
    # Derived once per key: deriving the public key took half as long as checking a token's signature with it.
    return _signing_key(seed_setting, secret_key).public_key()


def qr_token_sign(*, public_id: uuid.UUID, version: int, expires_at: datetime.datetime) -> str:
    """The token text for one code version; `expires_at` must be timezone-aware."""
    body = _BODY.pack(TOKEN_FORMAT, KEY_ID, public_id.bytes, version, int(expires_at.timestamp()))
    raw = body + qr_signing_key().sign(body)
    return TOKEN_PREFIX + base64.b32encode(raw).decode("ascii").rstrip("=")


def qr_token_verify(*, token: str) -> QrTokenClaims:
    """Checks the format and the signature; expiry and status are the service's business (they need the database).

    Raises `QrTokenError` with `token_malformed` (not a FinLab code at all, or cut) or `token_signature_invalid`.
    """
    text = token.strip().upper()
    if len(text) > MAX_TOKEN_TEXT or not text.startswith(TOKEN_PREFIX):
        raise QrTokenError("This is not a FinLab payment code.", code="token_malformed")
    encoded = text[len(TOKEN_PREFIX) :]
    try:
        raw = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except (binascii.Error, ValueError):
        raise QrTokenError("The payment code is damaged.", code="token_malformed") from None
    if len(raw) != TOKEN_BYTES:
        raise QrTokenError("The payment code is damaged.", code="token_malformed")
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    token_format, key_id, public_id, version, expiry = _BODY.unpack(body)
    if token_format != TOKEN_FORMAT or key_id != KEY_ID:
        raise QrTokenError("The payment code has an unknown format.", code="token_malformed")
    try:
        qr_verification_key().verify(signature, body)
    except InvalidSignature:
        raise QrTokenError("The payment code's signature is not valid.", code="token_signature_invalid") from None
    return QrTokenClaims(
        public_id=uuid.UUID(bytes=public_id),
        version=version,
        expires_at=datetime.datetime.fromtimestamp(expiry, tz=datetime.UTC),
    )


def qr_symbol(*, text: str) -> segno.QRCode:
    """The QR symbol for a token or an invoice payload: error correction M, never a Micro QR."""
    return segno.make_qr(text, error="m")


def qr_png(*, text: str, scale: int = 8) -> bytes:
    """PNG bytes of the symbol with the standard four-module quiet zone; `scale` pixels per module."""
    buffer = io.BytesIO()
    qr_symbol(text=text).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(*, text: str, scale: int = 6) -> str:
    """Standalone SVG markup of the symbol (printable at any size)."""
    buffer = io.BytesIO()
    qr_symbol(text=text).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True)
    return buffer.getvalue().decode("utf-8")
