"""Field encryption for the one personal value leasing keeps (a mandate's IBAN): AES-256-GCM.

The key is `settings.FIELD_ENCRYPTION_KEY`, 32 bytes in URL-safe base64. Each value gets a fresh 96-bit nonce; the
stored blob is version byte ‖ nonce ‖ ciphertext+tag, and the field's name is bound as associated data so a blob
copied into another field does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from leasing.errors import EncryptionKeyMissingError

_VERSION = b"\x01"
_NONCE_BYTES = 12


def _key() -> bytes:
    encoded = getattr(settings, "FIELD_ENCRYPTION_KEY", "") or ""
    try:
        key = base64.urlsafe_b64decode(encoded)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise EncryptionKeyMissingError("FIELD_ENCRYPTION_KEY must be 32 bytes in URL-safe base64.")
    return key


def field_encrypt(*, value: str, field: str) -> bytes:
    """Encrypts `value` for storage in `field` (e.g. "mandate.iban")."""
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + AESGCM(_key()).encrypt(nonce, value.encode(), field.encode())


def field_decrypt(*, blob: bytes, field: str) -> str:
    """Decrypts a blob written by `field_encrypt` for the same `field`; a tampered blob raises InvalidTag."""
    blob = bytes(blob)
    if blob[:1] != _VERSION:
        raise ValueError("unknown encrypted field version")
    nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    return AESGCM(_key()).decrypt(nonce, ciphertext, field.encode()).decode()
