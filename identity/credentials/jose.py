"""JOSE beyond Ed25519: public JWKs of P-256 (ES256) and Ed25519 (EdDSA) keys, signing and verifying compact JWS.

Used by OpenID4VCI (key proofs from wallets, SD-JWT VCs signed ES256 with an ``x5c`` chain) and, later, by the
OpenID4VP verifier. ES256 signatures are the 64-byte ``r || s`` form of RFC 7518 3.4, not DER.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from identity.credentials.encoding import EncodingError, b64url_decode, b64url_encode, json_decode
from identity.credentials.jws import compact_json

PublicKey = ec.EllipticCurvePublicKey | Ed25519PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | Ed25519PrivateKey
SUPPORTED_ALGORITHMS = ("ES256", "EdDSA")
_P256_COORDINATE_LENGTH = 32
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_REMEMBERED_KEYS = 1024


class JoseError(ValueError):
    """A JWK or JWS that cannot be used: wrong shape, unsupported algorithm or curve, or a bad signature."""


def algorithm_for(private_key: PrivateKey) -> str:
    return "EdDSA" if isinstance(private_key, Ed25519PrivateKey) else "ES256"


def public_jwk(public_key: PublicKey) -> dict[str, str]:
    """The public JWK of a P-256 or Ed25519 key (no private members)."""
    if isinstance(public_key, Ed25519PublicKey):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url_encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)),
        }
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(_P256_COORDINATE_LENGTH, "big")),
        "y": b64url_encode(numbers.y.to_bytes(_P256_COORDINATE_LENGTH, "big")),
    }


def public_key_from_jwk(jwk: object) -> PublicKey:
    """A P-256 or Ed25519 public key from its JWK; private members, other curves and bad points are refused.

    Keys already seen are answered from a bounded cache keyed by the JWK's exact ``kty``, ``crv``, ``x`` and ``y``
    (a holder or issuer key recurs in every presentation, and checking that a point lies on the curve costs nearly
    as much as a signature check); other key material never meets another key's entry. Public keys only."""
    return _remembered_public_key(*_jwk_members(jwk))


def ephemeral_public_key_from_jwk(jwk: object) -> PublicKey:
    """As :func:`public_key_from_jwk`, for a key used once (a JWE's ``epk``): not remembered, so a stream of
    one-time keys does not push the recurring ones out of the cache."""
    return _public_key_from_members(*_jwk_members(jwk))


def public_key_and_thumbprint_from_jwk(jwk: object) -> tuple[PublicKey, str]:
    """:func:`public_key_from_jwk` and the key's RFC 7638 thumbprint, both remembered for the same exact members."""
    members = _jwk_members(jwk)
    public_key = _remembered_public_key(*members)
    if not isinstance(jwk, Mapping) or not all(
        isinstance(jwk.get(name), str) for name in _thumbprint_members(members[0])
    ):
        return public_key, jwk_thumbprint(jwk)  # type: ignore[arg-type]  # members that are not text: not remembered
    return public_key, _remembered_thumbprint(*members)


def _jwk_members(jwk: object) -> tuple[str, str, str, str]:
    if not isinstance(jwk, Mapping):
        raise JoseError("a JWK is a JSON object")
    if "d" in jwk:
        raise JoseError("a public JWK must not contain the private key")
    return str(jwk.get("kty", "")), str(jwk.get("crv", "")), str(jwk.get("x", "")), str(jwk.get("y", ""))


@functools.lru_cache(maxsize=_REMEMBERED_KEYS)
def _remembered_public_key(kty: str, crv: str, x: str, y: str) -> PublicKey:
    return _public_key_from_members(kty, crv, x, y)


@functools.lru_cache(maxsize=_REMEMBERED_KEYS)
def _remembered_thumbprint(kty: str, crv: str, x: str, y: str) -> str:
    return jwk_thumbprint({"kty": kty, "crv": crv, "x": x, "y": y})


def _public_key_from_members(kty: str, crv: str, x: str, y: str) -> PublicKey:
    try:
        if kty == "EC" and crv == "P-256":
            x_bytes, y_bytes = b64url_decode(x), b64url_decode(y)
            if len(x_bytes) != _P256_COORDINATE_LENGTH or len(y_bytes) != _P256_COORDINATE_LENGTH:
                raise JoseError("P-256 coordinates are 32 bytes")
            numbers = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x_bytes, "big"), int.from_bytes(y_bytes, "big"), ec.SECP256R1()
            )
            return numbers.public_key()
        if kty == "OKP" and crv == "Ed25519":
            return Ed25519PublicKey.from_public_bytes(b64url_decode(x))
    except (EncodingError, ValueError) as error:
        if isinstance(error, JoseError):
            raise
        raise JoseError(f"unusable JWK: {error}") from error
    raise JoseError("only EC P-256 and OKP Ed25519 keys are supported")


def _thumbprint_members(kty: str) -> tuple[str, ...]:
    return ("crv", "kty", "x", "y") if kty == "EC" else ("crv", "kty", "x")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK (base64url)."""
    members = _thumbprint_members(str(jwk.get("kty")))
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def sign_compact(*, header: Mapping[str, Any], payload: Mapping[str, Any], private_key: PrivateKey) -> str:
    """Compact JWS; ``header['alg']`` must match the key (ES256 for P-256, EdDSA for Ed25519)."""
    if header.get("alg") != algorithm_for(private_key):
        raise ValueError("the JWS alg does not match the signing key")
    signing_input = (b64url_encode(compact_json(header)) + "." + b64url_encode(compact_json(payload))).encode("ascii")
    if isinstance(private_key, Ed25519PrivateKey):
        signature = private_key.sign(signing_input)
    else:
        r_value, s_value = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r_value.to_bytes(32, "big") + s_value.to_bytes(32, "big")
    return signing_input.decode("ascii") + "." + b64url_encode(signature)


def decode_compact(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, payload, signing input and signature of a compact JWS, before any check."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise JoseError("a compact JWS has three parts")
    try:
        header, payload = dict(_decoded_header(parts[0])), json_decode(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except JoseError:
        raise
    except (EncodingError, ValueError) as error:
        raise JoseError(f"undecodable JWS: {error}") from error
    if not isinstance(payload, dict):
        raise JoseError("JWS header and payload must be JSON objects")
    if "crit" in header:
        raise JoseError("critical JWS header parameters are not supported")
    return header, payload, (parts[0] + "." + parts[1]).encode("ascii"), signature


@functools.lru_cache(maxsize=_REMEMBERED_KEYS)
def _decoded_header(segment: str) -> dict[str, Any]:
    """A JWS header, decoded once per exact encoded text: an issuer's header (with its ``x5c`` chain) and a wallet's
    key-binding header recur in every presentation. Callers get a copy; an undecodable one is never remembered."""
    header = json_decode(b64url_decode(segment))
    if not isinstance(header, dict):
        raise JoseError("JWS header and payload must be JSON objects")
    return header


def signature_verify(*, algorithm: object, public_key: PublicKey, signing_input: bytes, signature: bytes) -> None:
    """Raise JoseError unless ``signature`` is valid for ``algorithm`` under ``public_key``."""
    try:
        if algorithm == "EdDSA" and isinstance(public_key, Ed25519PublicKey):
            public_key.verify(signature, signing_input)
            return
        if algorithm == "ES256" and isinstance(public_key, ec.EllipticCurvePublicKey):
            if not isinstance(public_key.curve, ec.SECP256R1) or len(signature) != 64:
                raise JoseError("ES256 needs a P-256 key and a 64-byte signature")
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public_key.verify(der, signing_input, _ECDSA_SHA256)
            return
    except InvalidSignature as error:
        raise JoseError("signature does not verify") from error
    raise JoseError(f"algorithm {algorithm!r} does not fit the key (supported: {', '.join(SUPPORTED_ALGORITHMS)})")
