"""Every verification failure reason, produced through the VC-API."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from identity.credentials.dids import did_key_from_public_key
from identity.credentials.encoding import b64url_decode, b64url_encode
from identity.credentials.jwt_vc import sign_credential_jwt, sign_presentation_jwt
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.credentials.sd_jwt import present_sd_jwt
from identity.models import AnchorBatch, AnchorLeaf
from identity.services import registry
from identity.tests.conftest import Wallet, credit_credential, post_json

pytestmark = pytest.mark.django_db

DOMAIN = "did:web:localhost:dealers:autohaus-nord"
CHALLENGE = "c7e1b2a4-challenge"


def issue(client, wallet, securing_format="vc-jwt", **changes):
    credential = credit_credential(subject_did=wallet.did, affordabilityCeilingPerMonth=65_000) | changes
    response = post_json(
        client, "/credentials/issue", {"credential": credential, "options": {"format": securing_format}}
    )
    assert response.status_code == 201, response.content
    return response.json()["verifiableCredential"]


def verify(client, credential, **options):
    return post_json(client, "/credentials/verify", {"verifiableCredential": credential, "options": options})


def verify_presentation(client, presentation, challenge=CHALLENGE, domain=DOMAIN):
    options = {"challenge": challenge, "domain": domain}
    return post_json(client, "/presentations/verify", {"verifiablePresentation": presentation, "options": options})


def reason(response):
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"code", "detail", "fields"}
    return response.json()["code"]


def sd_presentation(credential, wallet, *, challenge=CHALLENGE, domain=DOMAIN, disclose=("scoreBand",)):
    return present_sd_jwt(
        sd_jwt=credential,
        disclose=disclose,
        holder_private_key=wallet.private_key,
        challenge=challenge,
        domain=domain,
        issued_at=datetime.now(UTC),
    )


def test_valid_credential_and_presentation_pass(bureau_client, wallet, anchor_now):
    credential = issue(bureau_client, wallet, "sd-jwt")
    anchor_now()

    assert verify(bureau_client, credential).status_code == 200
    assert verify_presentation(bureau_client, sd_presentation(credential, wallet)).status_code == 200


def test_bad_signature_on_a_tampered_vc_jwt_and_data_integrity_credential(bureau_client, wallet, anchor_now):
    token = issue(bureau_client, wallet)
    document = issue(bureau_client, wallet, "data-integrity")
    anchor_now()
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["vc"]["credentialSubject"]["scoreBand"] = "A"
    tampered_token = ".".join([header, b64url_encode(json.dumps(claims).encode()), signature])
    tampered_document = document | {"credentialSubject": document["credentialSubject"] | {"scoreBand": "A"}}

    assert reason(verify(bureau_client, tampered_token)) == "bad_signature"
    assert reason(verify(bureau_client, tampered_document)) == "bad_signature"


def test_unknown_issuer(bureau_client, wallet):
    stranger_key = generate_private_key()
    stranger = did_key_from_public_key(public_key_bytes(stranger_key))
    credential = credit_credential(subject_did=wallet.did) | {
        "id": "urn:uuid:5a3c1f0e-4b7d-4e8a-9c2b-1d0e3f4a5b6c",
        "issuer": stranger,
        "validFrom": "2026-01-01T00:00:00Z",
    }
    credential["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    token = sign_credential_jwt(
        credential=credential,
        private_key=stranger_key,
        verification_method_id=f"{stranger}#{stranger.removeprefix('did:key:')}",
        issued_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert reason(verify(bureau_client, token)) == "unknown_issuer"


def test_untrusted_issuer_once_suspended_or_for_a_type_it_lost(
    bureau_client, bureau, wallet, anchor_now, back_office, client_for
):
    credential = issue(bureau_client, wallet)
    anchor_now()
    staff = client_for(back_office)
    registry.trusted_issuer_types_set(issuer=bureau, credential_types=["IdentityCredential"])
    assert reason(verify(staff, credential)) == "untrusted_issuer"

    registry.trusted_issuer_types_set(issuer=bureau, credential_types=["CreditHistoryCredential"])
    registry.trusted_issuer_suspend(issuer=bureau)

    assert reason(verify(staff, credential)) == "untrusted_issuer"


def test_not_yet_valid_and_expired(bureau_client, wallet, anchor_now):
    now = datetime.now(UTC).replace(microsecond=0)
    future = issue(bureau_client, wallet, validFrom=(now + timedelta(days=2)).isoformat().replace("+00:00", "Z"))
    past = issue(
        bureau_client,
        wallet,
        "data-integrity",
        validFrom=(now - timedelta(days=30)).isoformat().replace("+00:00", "Z"),
        validUntil=(now - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
    )
    anchor_now()

    assert reason(verify(bureau_client, future)) == "not_yet_valid"
    assert reason(verify(bureau_client, past)) == "expired"


def set_status(client, credential_id, purpose, value):
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": purpose, "status": value}
    response = post_json(client, "/credentials/status", {"credentialId": credential_id, "credentialStatus": [entry]})
    assert response.status_code == 200, response.content


def test_revoked_and_suspended_and_suspension_lifted(bureau_client, wallet, anchor_now):
    revoked = issue(bureau_client, wallet, "data-integrity")
    suspended = issue(bureau_client, wallet, "sd-jwt")
    anchor_now()
    set_status(bureau_client, revoked["id"], "revocation", True)
    from identity.models import CredentialRecord

    suspended_id = CredentialRecord.objects.get(format="sd-jwt").credential_id
    set_status(bureau_client, suspended_id, "suspension", True)

    assert reason(verify(bureau_client, revoked)) == "revoked"
    assert reason(verify(bureau_client, suspended)) == "suspended"
    assert reason(verify_presentation(bureau_client, sd_presentation(suspended, wallet))) == "suspended"

    set_status(bureau_client, suspended_id, "suspension", False)
    assert verify(bureau_client, suspended).status_code == 200


def test_wrong_holder_challenge_and_domain(bureau_client, wallet, anchor_now):
    credential = issue(bureau_client, wallet, "sd-jwt")
    token = issue(bureau_client, wallet)
    anchor_now()
    thief = Wallet()
    stolen = sd_presentation(credential, thief)
    vp_by_thief = sign_presentation_jwt(
        credentials=[token],
        holder_private_key=thief.private_key,
        holder_method_id=thief.method,
        challenge=CHALLENGE,
        domain=DOMAIN,
        issued_at=datetime.now(UTC),
    )

    assert reason(verify_presentation(bureau_client, stolen)) == "wrong_holder"
    assert reason(verify_presentation(bureau_client, vp_by_thief)) == "wrong_holder"
    assert reason(verify(bureau_client, token, expectedHolder=thief.did)) == "wrong_holder"
    presentation = sd_presentation(credential, wallet)
    assert reason(verify_presentation(bureau_client, presentation, challenge="another-challenge")) == "wrong_challenge"
    assert (
        reason(verify_presentation(bureau_client, presentation, domain="did:web:elsewhere.example")) == "wrong_domain"
    )


def test_anchor_missing_before_the_run_and_invalid_when_the_proof_is_wrong(bureau_client, wallet, anchor_now):
    credential = issue(bureau_client, wallet, "data-integrity")
    other = issue(bureau_client, wallet, "data-integrity")
    assert reason(verify(bureau_client, credential)) == "anchor_missing"
    assert verify(bureau_client, credential, allowPendingAnchor=True).status_code == 200

    anchor_now()
    leaf = AnchorLeaf.objects.get(reference=credential["id"])
    AnchorLeaf.objects.filter(pk=leaf.pk).update(
        proof=leaf.proof | {"audit_path": ["00" * 32] * len(leaf.proof["audit_path"])}
    )
    batch = AnchorLeaf.objects.get(reference=other["id"]).batch
    assert batch == leaf.batch

    assert reason(verify(bureau_client, credential)) == "anchor_invalid"
    AnchorBatch.objects.filter(pk=batch.pk).update(root="ff" * 32)
    assert reason(verify(bureau_client, other)) == "anchor_invalid"


def test_sd_jwt_presentation_discloses_only_what_the_holder_chose(bureau_client, wallet, anchor_now):
    credential = issue(bureau_client, wallet, "sd-jwt")
    anchor_now()
    presentation = sd_presentation(credential, wallet, disclose=("scoreBand", "affordabilityCeilingPerMonth"))

    response = verify_presentation(bureau_client, presentation)

    assert response.status_code == 200
    claims = response.json()["credentials"][0]["claims"]
    assert (claims["scoreBand"], claims["affordabilityCeilingPerMonth"]) == ("B", 65000)
    assert "negativeRecordBand" not in claims
    disclosed_names = {json.loads(b64url_decode(part))[1] for part in presentation.split("~")[1:-1]}
    assert disclosed_names == {"scoreBand", "affordabilityCeilingPerMonth"}
    assert "negativeRecordBand" not in response.content.decode()
