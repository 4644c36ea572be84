"""did:key identities of machines: key generation, encryption at rest, signing.

Private keys are encrypted by core.encryption under FIELD_ENCRYPTION_KEYS (no other key, no fallback). The DID is
the context of every blob, so a blob copied onto another machine's row fails to open.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.encryption import field_decrypt, field_encrypt
from identity.credentials.dids import did_key_from_public_key
from identity.credentials.keys import (
    generate_private_key,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_bytes,
)


@dataclass(frozen=True)
class MachineKeys:
    """A fresh identity: the did:key, its raw 32-byte public key and the encrypted private key."""

    did: str
    public_key: bytes
    encrypted_private_key: bytes


def machine_keys_generate(*, private_key: Ed25519PrivateKey | None = None) -> MachineKeys:
    """A did:key identity for a machine; pass `private_key` to register a key the machine already holds."""
    key = private_key or generate_private_key()
    public_key = public_key_bytes(key)
    did = did_key_from_public_key(public_key)
    encrypted = field_encrypt(plaintext=private_key_to_bytes(key), context=did.encode("ascii"))
    return MachineKeys(did=did, public_key=public_key, encrypted_private_key=encrypted)


def machine_private_key_open(*, did: str, encrypted_private_key: bytes) -> Ed25519PrivateKey:
    """The signing key of a machine, decrypted for one use (never stored in clear)."""
    raw = field_decrypt(blob=encrypted_private_key, context=did.encode("ascii"))
    return private_key_from_bytes(raw)
