"""did:key identities of machines: key generation, encryption at rest, signing.

The key-encryption key is `settings.FIELD_ENCRYPTION_KEY` (32 bytes, hex or base64url) when the portal sets one;
otherwise it is derived from `SECRET_KEY` with HKDF-SHA256 under a label of its own, so rotating either secret makes
the stored private keys unreadable (rotate by re-encrypting). The DID is the associated data of every blob, so a blob
copied onto another machine's row fails to open.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from identity.credentials.dids import did_key_from_public_key
from identity.credentials.keys import (
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_bytes,
)

_HKDF_INFO = b"finlab.machines.private-key-encryption.v1"


@dataclass(frozen=True)
class MachineKeys:
    """A fresh identity: the did:key, its raw 32-byte public key and the encrypted private key."""

    did: str
    public_key: bytes
    encrypted_private_key: bytes


def key_encryption_key() -> bytes:
    """The 32-byte AES-256 key that protects machines' private keys at rest."""
    configured = getattr(settings, "FIELD_ENCRYPTION_KEY", "") or ""
    if configured:
        return _decode_key(str(configured))
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return hkdf.derive(settings.SECRET_KEY.encode("utf-8"))


def _decode_key(value: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError) as error:
            raise ValueError("FIELD_ENCRYPTION_KEY must be 32 bytes in hex or base64url") from error
    if len(raw) != 32:
        raise ValueError("FIELD_ENCRYPTION_KEY must be 32 bytes in hex or base64url")
    return raw


def machine_keys_generate(*, private_key: Ed25519PrivateKey | None = None) -> MachineKeys:
    """A did:key identity for a machine; pass `private_key` to register a key the machine already holds."""
    key = private_key or generate_private_key()
    public_key = public_key_bytes(key)
    did = did_key_from_public_key(public_key)
    encrypted = encrypt_private_key(
        raw_private_key=private_key_to_bytes(key),
        key_encryption_key=key_encryption_key(),
        associated_data=did.encode("ascii"),
    )
    return MachineKeys(did=did, public_key=public_key, encrypted_private_key=encrypted)


def machine_private_key_open(*, did: str, encrypted_private_key: bytes) -> Ed25519PrivateKey:
    """The signing key of a machine, decrypted for one use (never stored in clear)."""
    raw = decrypt_private_key(
        encrypted_private_key=bytes(encrypted_private_key),
        key_encryption_key=key_encryption_key(),
        associated_data=did.encode("ascii"),
    )
    return private_key_from_bytes(raw)
