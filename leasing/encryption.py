"""Field encryption of the one personal value leasing keeps (a mandate's IBAN), through core.encryption.

The field's name is the context of the blob, so a blob copied into another field does not open.
"""

from __future__ import annotations

from core import encryption


def field_encrypt(*, value: str, field: str) -> bytes:
    """Encrypts `value` for storage in `field` (e.g. "mandate.iban") under the newest field key."""
    return encryption.field_encrypt(plaintext=value.encode(), context=field.encode())


def field_decrypt(*, blob: bytes, field: str) -> str:
    """Decrypts a blob written by `field_encrypt` for the same `field`; raises DecryptionFailed otherwise."""
    return encryption.field_decrypt(blob=blob, context=field.encode()).decode()
