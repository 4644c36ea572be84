"""Compact JWS with EdDSA (Ed25519), written directly on ``cryptography`` so verification costs little more than
the Ed25519 check itself: one JSON parse per part and a cached public-key object per key.
"""

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from identity.credentials.core import CredentialError, Reason
from identity.credentials.encoding import EncodingError, b64url_decode, b64url_encode


@dataclass(frozen=True)
class DecodedJws:
    """The parts of a compact JWS before its signature is checked."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def compact_json(value: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON without insignificant whitespace, as JOSE payloads are usually written."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_jws(*, header: Mapping[str, Any], payload: Mapping[str, Any], private_key: Ed25519PrivateKey) -> str:
    """JWS compact serialization signed with EdDSA; ``header`` must say ``alg: EdDSA``."""
    if header.get("alg") != "EdDSA":
        raise ValueError("only EdDSA is supported")
    signing_input = b64url_encode(compact_json(header)) + "." + b64url_encode(compact_json(payload))
    signature = private_key.sign(signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


def decode_jws(token: str) -> DecodedJws:
    """Split and decode a compact JWS with ``alg: EdDSA``; anything else is ``malformed``."""
    parts = token.split(".")
    if len(parts) != 3:
        raise CredentialError(Reason.MALFORMED, "a compact JWS has three parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (EncodingError, ValueError) as error:
        raise CredentialError(Reason.MALFORMED, f"undecodable JWS: {error}") from error
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise CredentialError(Reason.MALFORMED, "JWS header and payload must be JSON objects")
    if header.get("alg") != "EdDSA":
        raise CredentialError(Reason.MALFORMED, "JWS alg must be EdDSA")
    if "crit" in header:
        raise CredentialError(Reason.MALFORMED, "critical JWS header parameters are not supported")
    return DecodedJws(header, payload, (parts[0] + "." + parts[1]).encode("ascii"), signature)


def is_valid_ed25519_signature(*, public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` under the raw ``public_key``."""
    try:
        _load_public_key(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _load_public_key(public_key: bytes) -> Ed25519PublicKey:
    """Loading a key object costs about as much as a hash; issuers are few, so keep them."""
    return Ed25519PublicKey.from_public_bytes(public_key)
