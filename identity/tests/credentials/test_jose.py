"""ES256 and EdDSA compact JWS with keys named by JWK, as OpenID4VCI key proofs and SD-JWT VCs use them."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from identity.credentials import jose, x509


@pytest.mark.parametrize("make_key", [x509.generate_p256_key, Ed25519PrivateKey.generate], ids=["ES256", "EdDSA"])
def test_a_signature_verifies_with_the_key_from_its_jwk(make_key):
    key = make_key()
    jwk = jose.public_jwk(key.public_key())
    token = jose.sign_compact(header={"alg": jose.algorithm_for(key)}, payload={"a": 1}, private_key=key)

    header, payload, signing_input, signature = jose.decode_compact(token)

    jose.signature_verify(
        algorithm=header["alg"],
        public_key=jose.public_key_from_jwk(jwk),
        signing_input=signing_input,
        signature=signature,
    )
    assert payload == {"a": 1} and len(signature) == 64


def test_another_key_or_a_mismatched_algorithm_is_refused():
    key, other = x509.generate_p256_key(), x509.generate_p256_key()
    token = jose.sign_compact(header={"alg": "ES256"}, payload={"a": 1}, private_key=key)
    _header, _payload, signing_input, signature = jose.decode_compact(token)

    with pytest.raises(jose.JoseError, match="does not verify"):
        jose.signature_verify(
            algorithm="ES256", public_key=other.public_key(), signing_input=signing_input, signature=signature
        )
    with pytest.raises(jose.JoseError, match="does not fit"):
        jose.signature_verify(
            algorithm="EdDSA", public_key=key.public_key(), signing_input=signing_input, signature=signature
        )
    with pytest.raises(jose.JoseError, match="does not fit"):
        jose.signature_verify(
            algorithm="none", public_key=key.public_key(), signing_input=signing_input, signature=signature
        )


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        "not a jwk",
    ],
)
def test_unusable_jwks_are_refused(jwk):
    with pytest.raises(jose.JoseError):
        jose.public_key_from_jwk(jwk)


def test_a_jwk_with_a_private_part_is_refused():
    jwk = jose.public_jwk(x509.generate_p256_key().public_key()) | {"d": "secret"}
    with pytest.raises(jose.JoseError, match="private"):
        jose.public_key_from_jwk(jwk)
