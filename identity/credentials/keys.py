"""Ed25519 signing keys: generation, raw bytes, JWK form, and encryption of private keys at rest.

Private keys are stored only encrypted: AES-256-GCM under a key-encryption key that the caller supplies (from the
environment or a secret manager). The stored blob is ``version byte || 12-byte nonce || ciphertext+tag``; the
associated data binds the blob to its owner (for example the key's DID URL) so a blob copied to another row fails.
"""

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from identity.credentials.encoding import ED25519_PUBLIC_KEY_LENGTH, EncodingError, b64url_decode, b64url_encode

ENCRYPTED_KEY_VERSION = b"\x01"
KEY_ENCRYPTION_KEY_LENGTH = 32
AES_GCM_NONCE_LENGTH = 12


class PrivateKeyDecryptionError(ValueError):
    """Raised when an encrypted private key cannot be opened (wrong key, wrong owner, or altered blob)."""


def generate_private_key() -> Ed25519PrivateKey:
    """Create a fresh Ed25519 signing key from the operating system's random source."""
    return Ed25519PrivateKey.generate()


def private_key_to_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The 32-byte raw Ed25519 seed, the form that is encrypted at rest."""
    return private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def private_key_from_bytes(raw_private_key: bytes) -> Ed25519PrivateKey:
    """Load a signing key from its 32-byte raw seed."""
    return Ed25519PrivateKey.from_private_bytes(raw_private_key)


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The 32-byte raw public key that goes into DIDs, JWKs and Multikeys."""
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_from_bytes(raw_public_key: bytes) -> Ed25519PublicKey:
    """Load a verification key from its 32 raw bytes."""
    if len(raw_public_key) != ED25519_PUBLIC_KEY_LENGTH:
        raise EncodingError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw_public_key)


def public_key_to_jwk(raw_public_key: bytes) -> dict[str, str]:
    """OKP/Ed25519 JWK (RFC 8037) holding only the public part."""
    if len(raw_public_key) != ED25519_PUBLIC_KEY_LENGTH:
        raise EncodingError("an Ed25519 public key is 32 bytes")
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw_public_key)}


def public_key_from_jwk(jwk: Mapping[str, object]) -> bytes:
    """Raw public key from an OKP/Ed25519 JWK; a JWK that carries a private part ``d`` is refused."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise EncodingError("JWK is not an OKP/Ed25519 key")
    if "d" in jwk:
        raise EncodingError("a public JWK must not contain the private key")
    x_value = jwk.get("x")
    if not isinstance(x_value, str):
        raise EncodingError("JWK has no 'x' member")
    raw_public_key = b64url_decode(x_value)
    if len(raw_public_key) != ED25519_PUBLIC_KEY_LENGTH:
        raise EncodingError("an Ed25519 public key is 32 bytes")
    return raw_public_key


def encrypt_private_key(*, raw_private_key: bytes, key_encryption_key: bytes, associated_data: bytes = b"") -> bytes:
    """Encrypt a raw private key with AES-256-GCM for storage; a new random nonce is used every time.

    ``key_encryption_key`` is 32 bytes from the caller's secret store. ``associated_data`` is authenticated but not
    stored, so the same value must be passed to :func:`decrypt_private_key`.
    """
    if len(key_encryption_key) != KEY_ENCRYPTION_KEY_LENGTH:
        raise ValueError("the key-encryption key must be 32 bytes (AES-256)")
    nonce = os.urandom(AES_GCM_NONCE_LENGTH)
    ciphertext = AESGCM(key_encryption_key).encrypt(nonce, raw_private_key, ENCRYPTED_KEY_VERSION + associated_data)
    return ENCRYPTED_KEY_VERSION + nonce + ciphertext


def decrypt_private_key(
    *, encrypted_private_key: bytes, key_encryption_key: bytes, associated_data: bytes = b""
) -> bytes:
    """Open a blob made by :func:`encrypt_private_key`; raises PrivateKeyDecryptionError on any mismatch."""
    if len(key_encryption_key) != KEY_ENCRYPTION_KEY_LENGTH:
        raise ValueError("the key-encryption key must be 32 bytes (AES-256)")
    version = encrypted_private_key[:1]
    if version != ENCRYPTED_KEY_VERSION:
        raise PrivateKeyDecryptionError("unknown encrypted key version")
    nonce = encrypted_private_key[1 : 1 + AES_GCM_NONCE_LENGTH]
    ciphertext = encrypted_private_key[1 + AES_GCM_NONCE_LENGTH :]
    try:
        return AESGCM(key_encryption_key).decrypt(nonce, ciphertext, version + associated_data)
    except InvalidTag as error:
        raise PrivateKeyDecryptionError("encrypted private key failed authentication") from error
