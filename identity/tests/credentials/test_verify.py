from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from identity.credentials.data_integrity import sign_data_integrity
from identity.credentials.jwt_vc import sign_credential_jwt, sign_presentation_jwt
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.credentials.sd_jwt import issue_sd_jwt, present_sd_jwt
from identity.credentials.status_list import build_status_list_entry
from identity.credentials.verify import (
    AnchorStatus,
    Reason,
    TrustDecision,
    anchor_bytes_for,
    credential_leaf_hash,
    verify_credential,
    verify_presentation,
)
from identity.tests.credentials.conftest import NOW, REVOCATION_LIST_URL, SUSPENSION_LIST_URL, Holder

CHALLENGE = "3f0c9a1e-challenge"
DOMAIN = "did:web:portal.example:dealers:autohaus-nord"


def _status_entries():
    return [
        build_status_list_entry(list_url=REVOCATION_LIST_URL, index=11, status_purpose="revocation"),
        build_status_list_entry(list_url=SUSPENSION_LIST_URL, index=11, status_purpose="suspension"),
    ]


def _vc_jwt(issuer, world, credential):
    token = sign_credential_jwt(
        credential=credential, private_key=issuer.private_key, verification_method_id=issuer.jwk_method, issued_at=NOW
    )
    world.anchored[anchor_bytes_for(token)] = AnchorStatus.ANCHORED
    return token


def _data_integrity(issuer, world, credential):
    secured = sign_data_integrity(
        document=credential, private_key=issuer.private_key, verification_method_id=issuer.multikey_method, created=NOW
    )
    world.anchored[anchor_bytes_for(secured)] = AnchorStatus.ANCHORED
    return secured


def _sd_jwt(issuer, world, holder):
    sd_jwt = issue_sd_jwt(
        private_key=issuer.private_key,
        verification_method_id=issuer.jwk_method,
        vct="https://portal.example/credentials/CreditHistoryCredential",
        always_disclosed={"credentialStatus": _status_entries()},
        selectively_disclosed={"scoreBand": "B", "monthlyNetIncomeMinor": 417_500},
        holder_public_key=public_key_bytes(holder.private_key),
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=30),
    )
    world.anchored[anchor_bytes_for(sd_jwt)] = AnchorStatus.ANCHORED
    return sd_jwt


def _sd_present(sd_jwt, holder, *, challenge=CHALLENGE, domain=DOMAIN, issued_at=NOW):
    return present_sd_jwt(
        sd_jwt=sd_jwt,
        disclose=("scoreBand",),
        holder_private_key=holder.private_key,
        challenge=challenge,
        domain=domain,
        issued_at=issued_at,
    )


def _vp_jwt(holder, credentials, *, challenge=CHALLENGE, domain=DOMAIN):
    return sign_presentation_jwt(
        credentials=credentials,
        holder_private_key=holder.private_key,
        holder_method_id=holder.method,
        challenge=challenge,
        domain=domain,
        issued_at=NOW,
    )


def _di_presentation(holder, credentials, *, challenge=CHALLENGE, domain=DOMAIN):
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.did,
        "verifiableCredential": credentials,
    }
    return sign_data_integrity(
        document=presentation,
        private_key=holder.private_key,
        verification_method_id=holder.method,
        created=NOW,
        proof_purpose="authentication",
        challenge=challenge,
        domain=domain,
    )


@pytest.mark.parametrize("secure", [_vc_jwt, _data_integrity])
def test_valid_w3c_credential_passes_every_check(issuer, holder, world, credit_credential, secure):
    credential = credit_credential(credential_status=_status_entries())
    result = verify_credential(
        secure(issuer, world, credential), policy=world.policy(), now=NOW, expected_holder=holder.did
    )

    assert (result.is_valid, result.reason) == (True, None)
    assert result.claims[0]["credentialSubject"] == credential["credentialSubject"]


def test_malformed(world):
    result = verify_credential("not-a-jwt", policy=world.policy(), now=NOW)
    assert (result.is_valid, result.reason) == (False, Reason.MALFORMED)


def test_bad_signature(issuer, world, credit_credential):
    token = _vc_jwt(issuer, world, credit_credential())
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]

    result = verify_credential(".".join([header, payload, flipped]), policy=world.policy(), now=NOW)
    assert result.reason is Reason.BAD_SIGNATURE


def test_unknown_issuer_when_the_did_does_not_resolve(issuer, world, credit_credential):
    token = _vc_jwt(issuer, world, credit_credential())
    world.did_web_documents.clear()

    assert verify_credential(token, policy=world.policy(), now=NOW).reason is Reason.UNKNOWN_ISSUER


def test_unknown_issuer_when_the_registry_does_not_list_it(issuer, world, credit_credential):
    token = _vc_jwt(issuer, world, credit_credential())
    world.trust.clear()

    assert verify_credential(token, policy=world.policy(), now=NOW).reason is Reason.UNKNOWN_ISSUER


def test_untrusted_issuer_comes_before_validity(issuer, world, credit_credential):
    token = _vc_jwt(issuer, world, credit_credential())
    world.trust[issuer.did] = TrustDecision.UNTRUSTED

    result = verify_credential(token, policy=world.policy(), now=NOW + timedelta(days=365))
    assert result.reason is Reason.UNTRUSTED_ISSUER


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(timedelta(days=-2), Reason.NOT_YET_VALID), (timedelta(days=90, minutes=2), Reason.EXPIRED)],
)
def test_validity_period(issuer, world, credit_credential, offset, reason):
    for secure in (_vc_jwt, _data_integrity):
        secured = secure(issuer, world, credit_credential())
        assert verify_credential(secured, policy=world.policy(), now=NOW + offset).reason is reason


def test_expired_comes_before_revoked(issuer, world, credit_credential):
    world.revocation.set(11)
    token = _vc_jwt(issuer, world, credit_credential(credential_status=_status_entries()))

    assert verify_credential(token, policy=world.policy(), now=NOW + timedelta(days=91)).reason is Reason.EXPIRED
    assert verify_credential(token, policy=world.policy(), now=NOW).reason is Reason.REVOKED


def test_suspended_and_lifted(issuer, world, credit_credential):
    secured = _data_integrity(issuer, world, credit_credential(credential_status=_status_entries()))
    world.suspension.set(11)
    assert verify_credential(secured, policy=world.policy(), now=NOW).reason is Reason.SUSPENDED

    world.suspension.clear(11)
    assert verify_credential(secured, policy=world.policy(), now=NOW).is_valid is True


def test_wrong_holder_for_a_credential(issuer, world, credit_credential):
    token = _vc_jwt(issuer, world, credit_credential())
    stranger = Holder(generate_private_key())

    result = verify_credential(token, policy=world.policy(), now=NOW, expected_holder=stranger.did)
    assert result.reason is Reason.WRONG_HOLDER


@pytest.mark.parametrize(
    ("anchor", "reason"), [(None, Reason.ANCHOR_MISSING), (AnchorStatus.INVALID, Reason.ANCHOR_INVALID)]
)
def test_anchor_checks(issuer, world, credit_credential, anchor, reason):
    token = _vc_jwt(issuer, world, credit_credential())
    world.anchored.clear()
    if anchor is not None:
        world.anchored[token.encode("ascii")] = anchor

    assert verify_credential(token, policy=world.policy(), now=NOW).reason is reason


def test_sd_jwt_presentation_returns_only_disclosed_claims(issuer, holder, world):
    presentation = _sd_present(_sd_jwt(issuer, world, holder), holder)

    result = verify_presentation(
        presentation, policy=world.policy(), now=NOW, expected_challenge=CHALLENGE, expected_domain=DOMAIN
    )

    assert (result.is_valid, result.reason) == (True, None)
    assert result.claims[0]["scoreBand"] == "B"
    assert "monthlyNetIncomeMinor" not in result.claims[0]
    assert "_sd" not in result.claims[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"challenge": "replayed"}, Reason.WRONG_CHALLENGE),
        ({"domain": "did:web:portal.example:dealers:other"}, Reason.WRONG_DOMAIN),
        ({"issued_at": NOW - timedelta(hours=1)}, Reason.WRONG_CHALLENGE),
    ],
)
def test_sd_jwt_presentation_binding(issuer, holder, world, change, reason):
    presentation = _sd_present(_sd_jwt(issuer, world, holder), holder, **change)

    result = verify_presentation(
        presentation, policy=world.policy(), now=NOW, expected_challenge=CHALLENGE, expected_domain=DOMAIN
    )
    assert result.reason is reason


def test_sd_jwt_presented_by_someone_else_is_wrong_holder(issuer, holder, world):
    thief = Holder(generate_private_key())
    presentation = _sd_present(_sd_jwt(issuer, world, holder), thief)

    result = verify_presentation(
        presentation, policy=world.policy(), now=NOW, expected_challenge=CHALLENGE, expected_domain=DOMAIN
    )
    assert result.reason is Reason.WRONG_HOLDER


def test_sd_jwt_status_is_checked(issuer, holder, world):
    presentation = _sd_present(_sd_jwt(issuer, world, holder), holder)
    world.revocation.set(11)

    result = verify_presentation(
        presentation, policy=world.policy(), now=NOW, expected_challenge=CHALLENGE, expected_domain=DOMAIN
    )
    assert result.reason is Reason.REVOKED


@pytest.mark.parametrize("present", [_vp_jwt, _di_presentation])
def test_holder_presentations(issuer, holder, world, credit_credential, present):
    credentials = [
        _vc_jwt(issuer, world, credit_credential()),
        _data_integrity(issuer, world, credit_credential(credential_id="urn:uuid:second")),
    ]
    policy = world.policy()

    def check(presentation, challenge=CHALLENGE):
        return verify_presentation(
            presentation, policy=policy, now=NOW, expected_challenge=challenge, expected_domain=DOMAIN
        ).reason

    assert check(present(holder, credentials)) is None
    assert check(present(holder, credentials), challenge="other") is Reason.WRONG_CHALLENGE
    assert check(present(holder, credentials, domain="did:web:elsewhere.example")) is Reason.WRONG_DOMAIN
    assert check(present(Holder(generate_private_key()), credentials)) is Reason.WRONG_HOLDER


def test_leaf_hash_is_salted_and_hides_the_credential():
    salt = bytes(range(32))
    credential_bytes = b"eyJhbGciOiJFZERTQSJ9.payload.signature"

    leaf = credential_leaf_hash(credential_bytes, salt)

    assert leaf == hashlib.sha256(salt + credential_bytes).digest()
    assert leaf != hashlib.sha256(credential_bytes).digest()
    assert credential_leaf_hash(credential_bytes, bytes(32)) != leaf
    with pytest.raises(ValueError):
        credential_leaf_hash(credential_bytes, b"short")
