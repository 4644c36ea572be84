from __future__ import annotations

import json
from datetime import timedelta

import pytest

from identity.credentials.core import CredentialError, Reason
from identity.credentials.encoding import b64url_decode
from identity.credentials.keys import public_key_bytes
from identity.credentials.sd_jwt import (
    issue_sd_jwt,
    parse_sd_jwt,
    present_sd_jwt,
    verify_key_binding,
    verify_sd_jwt_issuer,
)
from identity.tests.credentials.conftest import NOW

SECRET_NAME = "Erika Mustermann"
SECRET_INCOME = 417_500


def _issue(issuer, holder):
    return issue_sd_jwt(
        private_key=issuer.private_key,
        verification_method_id=issuer.jwk_method,
        vct="https://portal.example/credentials/CreditHistoryCredential",
        always_disclosed={},
        selectively_disclosed={
            "name": SECRET_NAME,
            "monthlyNetIncomeMinor": SECRET_INCOME,
            "scoreBand": "B",
            "affordabilityCeilingPerMonth": {"amountMinor": 65_000, "currency": "EUR"},
        },
        holder_public_key=public_key_bytes(holder.private_key),
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=90),
    )


def _present(sd_jwt, holder, disclose=("scoreBand", "affordabilityCeilingPerMonth")):
    return present_sd_jwt(
        sd_jwt=sd_jwt,
        disclose=disclose,
        holder_private_key=holder.private_key,
        challenge="nonce-123",
        domain="did:web:portal.example:dealers:autohaus-nord",
        issued_at=NOW,
    )


def test_presentation_reveals_only_the_chosen_claims(issuer, holder, world):
    presentation = _present(_issue(issuer, holder), holder)
    parsed = parse_sd_jwt(presentation)

    secured = verify_sd_jwt_issuer(parsed=parsed, resolve_did_document=world.resolve)
    binding = verify_key_binding(parsed=parsed, holder_public_key=public_key_bytes(holder.private_key))

    assert secured.claims["scoreBand"] == "B"
    assert secured.claims["affordabilityCeilingPerMonth"] == {"amountMinor": 65_000, "currency": "EUR"}
    assert "name" not in secured.claims
    assert "monthlyNetIncomeMinor" not in secured.claims
    assert secured.subject == holder.did
    assert (binding.nonce, binding.audience, binding.issued_at) == (
        "nonce-123",
        "did:web:portal.example:dealers:autohaus-nord",
        NOW,
    )


def test_undisclosed_claims_appear_nowhere_the_verifier_can_look(issuer, holder):
    presentation = _present(_issue(issuer, holder), holder)
    parsed = parse_sd_jwt(presentation)
    decoded_parts = [b64url_decode(part).decode("utf-8") for part in parsed.disclosures]
    for jwt in (parsed.issuer_jwt, parsed.key_binding_jwt):
        decoded_parts += [b64url_decode(segment).decode("utf-8", "replace") for segment in jwt.split(".")[:2]]
    everything = presentation + "".join(decoded_parts)

    assert len(parsed.disclosures) == 2
    for secret in (SECRET_NAME, "Mustermann", str(SECRET_INCOME), "monthlyNetIncomeMinor", '"name"'):
        assert secret not in everything
    assert "scoreBand" in everything


def test_disclosures_are_salted(issuer, holder):
    first = parse_sd_jwt(_issue(issuer, holder))
    second = parse_sd_jwt(_issue(issuer, holder))
    first_values = [json.loads(b64url_decode(item)) for item in first.disclosures]

    assert set(first.disclosures).isdisjoint(second.disclosures)
    assert all(len(b64url_decode(salt)) == 16 for salt, _name, _value in first_values)


def test_a_forged_disclosure_is_refused(issuer, holder, world):
    presentation = _present(_issue(issuer, holder), holder)
    parsed = parse_sd_jwt(presentation)
    forged_disclosure = "WyJzYWx0IiwgInNjb3JlQmFuZCIsICJBIl0"  # ["salt", "scoreBand", "A"]
    forged = parse_sd_jwt("~".join([parsed.issuer_jwt, forged_disclosure, ""]))

    with pytest.raises(CredentialError) as raised:
        verify_sd_jwt_issuer(parsed=forged, resolve_did_document=world.resolve)
    assert raised.value.reason is Reason.BAD_SIGNATURE


def test_key_binding_covers_exactly_the_presented_disclosures(issuer, holder):
    sd_jwt = _issue(issuer, holder)
    presentation = _present(sd_jwt, holder, disclose=("scoreBand",))
    parsed = parse_sd_jwt(presentation)
    extra = next(d for d in parse_sd_jwt(sd_jwt).disclosures if d not in parsed.disclosures)
    widened = parse_sd_jwt("~".join([parsed.issuer_jwt, *parsed.disclosures, extra, parsed.key_binding_jwt]))

    with pytest.raises(CredentialError) as raised:
        verify_key_binding(parsed=widened, holder_public_key=public_key_bytes(holder.private_key))
    assert raised.value.reason is Reason.WRONG_HOLDER


def test_presenting_an_unknown_claim_is_refused(issuer, holder):
    with pytest.raises(ValueError, match="salary"):
        _present(_issue(issuer, holder), holder, disclose=("salary",))
