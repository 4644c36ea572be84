"""Field encryption at rest: the one parser of the encryption keys, encryption under the newest key, rotation.

Keys come from the FIELD_ENCRYPTION_KEYS setting, a list of Fernet keys (32 random bytes in URL-safe base64, as
`Fernet.generate_key()` makes them): the first encrypts, every one decrypts. There is no default and no fallback: an
empty or malformed list is a setup error (ImproperlyConfigured) on first use. To rotate, put a new key first, deploy,
run `manage.py field_keys_rotate` (re-encrypts every encrypted field under the new key), then drop the old key.

Stored form: version byte 0x02 followed by a Fernet token (AES-128-CBC + HMAC-SHA256 via `MultiFernet`) of
`len(context) ‖ context ‖ plaintext`. `context` names the row and field (e.g. `mandate.iban`, a DID, a key id), so a
blob copied onto another row or field fails to open, as the associated data of the earlier format did.
Blobs of that earlier format (0x01 ‖ 96-bit nonce ‖ AES-256-GCM ciphertext, key = the 32 raw key bytes) still open with
any listed key, so data written before this format keeps working until the rotation command rewrites it.
"""

from __future__ import annotations

import base64
import binascii
import struct
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = b"\x02"
_LEGACY_VERSION = b"\x01"
_LEGACY_NONCE_BYTES = 12
_KEY_BYTES = 32


class DecryptionFailed(Exception):
    """No listed key opens the blob for this context (wrong key, tampered blob, or a blob of another field)."""


def field_keys_parse(values: list[str] | tuple[str, ...] | str) -> tuple[bytes, ...]:
    """The raw 32-byte keys of FIELD_ENCRYPTION_KEYS, newest first; refuses an empty list and any malformed key."""
    if isinstance(values, str):
        values = values.split(",")
    keys = []
    for position, value in enumerate(part.strip() for part in values):
        try:
            raw = base64.urlsafe_b64decode(value.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeError):
            raw = b""
        if len(raw) != _KEY_BYTES or base64.urlsafe_b64encode(raw).decode() != value:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS[{position}] must be 32 bytes in URL-safe base64 (Fernet.generate_key())."
            )
        keys.append(raw)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: set at least one key; there is no default.")
    return tuple(keys)


def field_keys() -> tuple[bytes, ...]:
    """The configured keys, newest (encrypting) first."""
    return _parsed(tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ()))


@cache
def _parsed(values: tuple[str, ...]) -> tuple[bytes, ...]:
    return field_keys_parse(list(values))


def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])


def field_encrypt(*, plaintext: bytes, context: bytes) -> bytes:
    """Encrypts `plaintext` for the field and row named by `context`, under the newest key."""
    framed = struct.pack(">H", len(context)) + context + plaintext
    return VERSION + _fernet(field_keys()[:1]).encrypt(framed)


def field_decrypt(*, blob: bytes, context: bytes) -> bytes:
    """Opens a blob of either format with any listed key; raises DecryptionFailed otherwise."""
    blob = bytes(blob)
    keys = field_keys()
    if blob[:1] == VERSION:
        try:
            framed = _fernet(keys).decrypt(blob[1:])
        except InvalidToken as error:
            raise DecryptionFailed("no configured key opens this field") from error
        (length,) = struct.unpack(">H", framed[:2])
        if framed[2 : 2 + length] != context:
            raise DecryptionFailed("the field was encrypted for another context")
        return framed[2 + length :]
    if blob[:1] == _LEGACY_VERSION:
        return _legacy_decrypt(blob=blob, context=context, keys=keys)
    raise DecryptionFailed("unknown encrypted field version")


def _legacy_decrypt(*, blob: bytes, context: bytes, keys: tuple[bytes, ...]) -> bytes:
    """AES-256-GCM blobs of the earlier format; identity and machines bound `0x01 ‖ context`, leasing `context`."""
    nonce, ciphertext = blob[1 : 1 + _LEGACY_NONCE_BYTES], blob[1 + _LEGACY_NONCE_BYTES :]
    for key in keys:
        for associated_data in (_LEGACY_VERSION + context, context):
            try:
                return AESGCM(key).decrypt(nonce, ciphertext, associated_data)
            except InvalidTag:
                continue
    raise DecryptionFailed("no configured key opens this field")


def field_is_current(*, blob: bytes) -> bool:
    """Whether the blob is in the current format under the newest key (rotation skips it)."""
    blob = bytes(blob)
    if blob[:1] != VERSION:
        return False
    try:
        _fernet(field_keys()[:1]).decrypt(blob[1:])
    except InvalidToken:
        return False
    return True


def field_reencrypt(*, blob: bytes, context: bytes) -> bytes:
    """The same plaintext encrypted under the newest key (what rotation writes back)."""
    return field_encrypt(plaintext=field_decrypt(blob=blob, context=context), context=context)
