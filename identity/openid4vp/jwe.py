"""JWE with ECDH-ES key agreement (direct, no key wrapping) on P-256 and AES-GCM content encryption (RFC 7516,
RFC 7518 4.6 and 5.3): what a wallet uses to encrypt a ``direct_post.jwt`` answer to the verifier's ephemeral key.

Built on ``cryptography`` (ECDH, AES-GCM) and ``hashlib`` (the Concat KDF of NIST SP 800-56A with SHA-256: the
content keys are at most 256 bits, one hash round); only the compact serialization, ``alg: ECDH-ES`` and ``enc``
A128GCM / A256GCM are accepted.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from identity.credentials import jose
from identity.credentials.encoding import EncodingError, b64url_decode, b64url_encode, json_decode

ALGORITHM = "ECDH-ES"
KEY_LENGTHS = {"A128GCM": 16, "A256GCM": 32}
_FIRST_ROUND = struct.pack(">I", 1)
_ECDH = ec.ECDH()


class JweError(ValueError):
    """The JWE cannot be decrypted with this key: wrong shape, algorithm, key or tag."""


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _content_key(
    *, private_key: ec.EllipticCurvePrivateKey, peer: ec.EllipticCurvePublicKey, header: Mapping[str, Any]
) -> bytes:
    encryption = str(header["enc"])
    length = KEY_LENGTHS[encryption]
    shared = private_key.exchange(_ECDH, peer)
    other_info = (
        _length_prefixed(encryption.encode("ascii"))
        + _length_prefixed(b64url_decode(str(header["apu"])) if "apu" in header else b"")
        + _length_prefixed(b64url_decode(str(header["apv"])) if "apv" in header else b"")
        + struct.pack(">I", length * 8)
    )
    # Concat KDF: SHA-256(counter || Z || OtherInfo), counter from 1; one round covers keys of up to 256 bits.
    return hashlib.sha256(_FIRST_ROUND + shared + other_info).digest()[:length]


def decrypt(token: str, *, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """The plaintext of a compact JWE made for ``private_key``; anything else raises :class:`JweError`."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 5:
        raise JweError("a compact JWE has five parts")
    try:
        header = json_decode(b64url_decode(parts[0]))
        if not isinstance(header, dict):
            raise JweError("the JWE header is a JSON object")
        if header.get("alg") != ALGORITHM or header.get("enc") not in KEY_LENGTHS or parts[1]:
            raise JweError(f"only alg {ALGORITHM} with enc {', '.join(KEY_LENGTHS)} is accepted")
        if "crit" in header or "zip" in header:
            raise JweError("crit and zip are not supported")
        peer = jose.ephemeral_public_key_from_jwk(header.get("epk"))
        if not isinstance(peer, ec.EllipticCurvePublicKey):
            raise JweError("the epk must be a P-256 key")
        iv, ciphertext, tag = (b64url_decode(part) for part in parts[2:])
        if len(iv) != 12 or len(tag) != 16:
            raise JweError("AES-GCM needs a 96-bit IV and a 128-bit tag")
        key = _content_key(private_key=private_key, peer=peer, header=header)
        return AESGCM(key).decrypt(iv, ciphertext + tag, parts[0].encode("ascii"))
    except InvalidTag as error:
        raise JweError("the JWE does not decrypt with this key") from error
    except (EncodingError, ValueError, KeyError, TypeError) as error:
        if isinstance(error, JweError):
            raise
        raise JweError(f"undecodable JWE: {error}") from error


def encrypt(
    plaintext: bytes,
    *,
    recipient: ec.EllipticCurvePublicKey,
    encryption: str = "A128GCM",
    extra_header: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWE to ``recipient`` (what a wallet does; used by the portal's tests and benchmark)."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    header: dict[str, Any] = {
        "alg": ALGORITHM,
        "enc": encryption,
        "epk": jose.public_jwk(ephemeral.public_key()),
        **(extra_header or {}),
    }
    protected = b64url_encode(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    key = _content_key(private_key=ephemeral, peer=recipient, header=header)
    iv = os.urandom(12)
    sealed = AESGCM(key).encrypt(iv, plaintext, protected.encode("ascii"))
    return ".".join([protected, "", b64url_encode(iv), b64url_encode(sealed[:-16]), b64url_encode(sealed[-16:])])
