"""The caches on the SD-JWT VC verification path (issue 17) never answer for other key material: a checked x5c chain
is used only while the anchor it led to is still given, holder keys and thumbprints are keyed by the exact JWK
members, decoded JWS headers by their exact text. Each refusal keeps its reason after the cache was filled."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import Certificate

from identity.credentials import jose, x509
from identity.credentials.core import CredentialError, Reason
from identity.credentials.dids import resolve_did_key
from identity.credentials.encoding import b64url_encode
from identity.credentials.sd_jwt import _digest, _disclosure
from identity.credentials.verify import (
    AnchorStatus,
    TrustDecision,
    VerificationPolicy,
    verify_sd_jwt_vc_presentation,
)

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
ISSUER = "https://bureau.example"
VCT = "https://bureau.example/credentials/credit"
AUDIENCE = "x509_san_dns:portal.example"
NONCE = "n-" + "x" * 30


def _ca(name: str = "Bureau Root") -> tuple[ec.EllipticCurvePrivateKey, Certificate]:
    key = x509.generate_p256_key()
    not_before, not_after = x509.validity_period(now=NOW - timedelta(days=1), days=365)
    certificate = x509.ca_certificate_create(
        private_key=key, common_name=name, organisation="Bureau", not_before=not_before, not_after=not_after
    )
    return key, certificate


def _leaf(ca: tuple[ec.EllipticCurvePrivateKey, Certificate]) -> tuple[ec.EllipticCurvePrivateKey, Certificate]:
    key = x509.generate_p256_key()
    not_before, not_after = x509.validity_period(now=NOW - timedelta(days=1), days=30)
    certificate = x509.leaf_certificate_issue(
        ca_private_key=ca[0],
        ca_certificate=ca[1],
        subject_public_key=key.public_key(),
        common_name="Bureau issuer",
        organisation="Bureau",
        san_uris=[ISSUER],
        not_before=not_before,
        not_after=not_after,
    )
    return key, certificate


def _presentation(
    *,
    leaf: tuple[ec.EllipticCurvePrivateKey, Certificate],
    cnf_key: ec.EllipticCurvePrivateKey,
    binding_key: ec.EllipticCurvePrivateKey,
) -> str:
    disclosure = _disclosure("scoreBand", "B")
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "iat": int(NOW.timestamp()) - 60,
        "exp": int(NOW.timestamp()) + 3600,
        "vct": VCT,
        "cnf": {"jwk": jose.public_jwk(cnf_key.public_key())},
        "_sd": [_digest(disclosure)],
        "_sd_alg": "sha-256",
    }
    header = {"alg": "ES256", "typ": "dc+sd-jwt", "x5c": x509.x5c_encode([leaf[1]])}
    presented = jose.sign_compact(header=header, payload=payload, private_key=leaf[0]) + f"~{disclosure}~"
    key_binding = {
        "iat": int(NOW.timestamp()),
        "aud": AUDIENCE,
        "nonce": NONCE,
        "sd_hash": b64url_encode(hashlib.sha256(presented.encode("ascii")).digest()),
    }
    return presented + jose.sign_compact(
        header={"alg": "ES256", "typ": "kb+jwt"}, payload=key_binding, private_key=binding_key
    )


def _verify(presentation: str, *, anchors: list[Certificate]) -> set[str]:
    policy = VerificationPolicy(
        resolve_did_document=resolve_did_key,
        issuer_trust=lambda issuer, types: TrustDecision.TRUSTED,
        status_list=lambda url, purpose: pytest.fail("no status entries here"),
        anchor_check=lambda anchor_bytes: AnchorStatus.ISSUED_ELSEWHERE,
        credential_type_for_vct=lambda vct: "CreditHistoryCredential" if vct == VCT else None,
        x509_anchors_for_type=lambda credential_type: anchors,
    )
    verified = verify_sd_jwt_vc_presentation(
        presentation, policy=policy, now=NOW, expected_nonce=NONCE, expected_audience=AUDIENCE
    )
    return set(verified.disclosed)


def _refusal(presentation: str, *, anchors: list[Certificate]) -> Reason:
    with pytest.raises(CredentialError) as refused:
        _verify(presentation, anchors=anchors)
    return refused.value.reason


def test_a_suspended_anchor_is_refused_at_once_although_its_chain_was_checked_and_remembered():
    ca = _ca()
    holder = x509.generate_p256_key()
    presentation = _presentation(leaf=_leaf(ca), cnf_key=holder, binding_key=holder)

    assert _verify(presentation, anchors=[ca[1]]) == {"scoreBand"}
    assert _verify(presentation, anchors=[ca[1]]) == {"scoreBand"}  # now from the remembered chain

    assert _refusal(presentation, anchors=[]) is Reason.UNTRUSTED_ISSUER
    assert _verify(presentation, anchors=[ca[1]]) == {"scoreBand"}  # reactivated


def test_an_anchor_replaced_by_another_key_under_the_same_name_does_not_keep_the_old_chain_trusted():
    old_ca, new_ca = _ca("Bureau Root"), _ca("Bureau Root")
    holder = x509.generate_p256_key()
    signed_under_old = _presentation(leaf=_leaf(old_ca), cnf_key=holder, binding_key=holder)
    signed_under_new = _presentation(leaf=_leaf(new_ca), cnf_key=holder, binding_key=holder)

    assert _verify(signed_under_old, anchors=[old_ca[1]]) == {"scoreBand"}

    assert _refusal(signed_under_old, anchors=[new_ca[1]]) is Reason.UNTRUSTED_ISSUER
    assert _verify(signed_under_new, anchors=[new_ca[1]]) == {"scoreBand"}
    assert _refusal(signed_under_new, anchors=[old_ca[1]]) is Reason.UNTRUSTED_ISSUER
    # both anchors given (a renewal's overlap): each chain is trusted through its own anchor
    assert _verify(signed_under_old, anchors=[new_ca[1], old_ca[1]]) == {"scoreBand"}
    assert _verify(signed_under_new, anchors=[old_ca[1], new_ca[1]]) == {"scoreBand"}


def test_an_anchor_reloaded_from_its_bytes_counts_as_the_same_anchor():
    ca = _ca()
    holder = x509.generate_p256_key()
    presentation = _presentation(leaf=_leaf(ca), cnf_key=holder, binding_key=holder)
    reloaded = x509.certificate_from_der(x509.certificate_to_der(ca[1]))

    assert _verify(presentation, anchors=[ca[1]]) == {"scoreBand"}
    assert _verify(presentation, anchors=[reloaded]) == {"scoreBand"}


def test_a_key_binding_by_another_key_is_refused_after_the_credential_key_was_remembered():
    ca = _ca()
    leaf = _leaf(ca)
    holder, other = x509.generate_p256_key(), x509.generate_p256_key()
    assert _verify(_presentation(leaf=leaf, cnf_key=holder, binding_key=holder), anchors=[ca[1]]) == {"scoreBand"}
    assert _verify(_presentation(leaf=leaf, cnf_key=other, binding_key=other), anchors=[ca[1]]) == {"scoreBand"}

    crossed = _presentation(leaf=leaf, cnf_key=holder, binding_key=other)
    assert _refusal(crossed, anchors=[ca[1]]) is Reason.KEY_BINDING_INVALID
    crossed_back = _presentation(leaf=leaf, cnf_key=other, binding_key=holder)
    assert _refusal(crossed_back, anchors=[ca[1]]) is Reason.KEY_BINDING_INVALID


def test_remembered_jwk_keys_and_thumbprints_belong_to_their_exact_members():
    first, second = (jose.public_jwk(x509.generate_p256_key().public_key()) for _ in range(2))
    mixed = {**first, "y": second["y"]}  # another point (not even on the curve): never the first key's entry

    for jwk in (first, second, first):
        key, thumbprint = jose.public_key_and_thumbprint_from_jwk(jwk)
        assert jose.public_jwk(key) == jwk
        assert thumbprint == jose.jwk_thumbprint(jwk)
    assert jose.public_key_and_thumbprint_from_jwk(first)[1] != jose.public_key_and_thumbprint_from_jwk(second)[1]
    with pytest.raises(jose.JoseError):
        jose.public_key_from_jwk(mixed)
    with pytest.raises(jose.JoseError):
        jose.public_key_from_jwk({**first, "d": "private"})


def test_a_remembered_header_is_handed_out_as_a_copy():
    key = x509.generate_p256_key()
    token = jose.sign_compact(header={"alg": "ES256", "typ": "kb+jwt"}, payload={"a": 1}, private_key=key)

    header, _payload, _input, _signature = jose.decode_compact(token)
    header["typ"] = "changed"

    assert jose.decode_compact(token)[0] == {"alg": "ES256", "typ": "kb+jwt"}
