"""Credentials issued through the portal's VC-API, checked by verifiers not written here (npm packages)."""

import copy

import pytest

from identity.models import StatusList
from identity.services import keys
from identity.tests.conftest import post_json
from identity.tests.credentials.node_harness import run_node_verifier

pytestmark = pytest.mark.django_db


def payment_history(holder_did):
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "PaymentHistoryCredential"],
        "credentialSubject": {"id": holder_did, "onTimePaymentCount": 24, "arrearsCount": 1},
    }


def published_lists(client):
    return {
        status_list.published_credential["id"]: client.get(f"/credentials/status/{status_list.list_id}").json()
        for status_list in StatusList.objects.all()
    }


def test_digital_bazaar_accepts_the_portals_data_integrity_credential_until_revoked(
    back_office, client_for, wallet, client
):
    staff = client_for(back_office)
    issued = post_json(
        staff,
        "/credentials/issue",
        {"credential": payment_history(wallet.did), "options": {"format": "data-integrity"}},
    ).json()["verifiableCredential"]
    did_document = client.get("/.well-known/did.json").json()
    tampered = copy.deepcopy(issued)
    tampered["credentialSubject"]["arrearsCount"] = 0

    accepted = run_node_verifier(
        "verify_data_integrity.mjs",
        {"credential": issued, "documents": {keys.portal_did(): did_document} | published_lists(client)},
    )
    changed = run_node_verifier(
        "verify_data_integrity.mjs",
        {"credential": tampered, "documents": {keys.portal_did(): did_document} | published_lists(client)},
    )
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": True}
    assert (
        post_json(staff, "/credentials/status", {"credentialId": issued["id"], "credentialStatus": [entry]}).status_code
        == 200
    )
    revoked = run_node_verifier(
        "verify_data_integrity.mjs",
        {"credential": issued, "documents": {keys.portal_did(): did_document} | published_lists(client)},
    )

    assert accepted == {"verified": True, "error": ""}
    assert changed["verified"] is False
    assert revoked["verified"] is False
    assert "revocation bit" in revoked["error"]


def test_iota_identity_accepts_the_portals_vc_jwt_and_rejects_it_after_the_key_is_withdrawn(
    back_office, client_for, wallet, client
):
    staff = client_for(back_office)
    token = post_json(
        staff, "/credentials/issue", {"credential": payment_history(wallet.did), "options": {"format": "vc-jwt"}}
    ).json()["verifiableCredential"]
    from identity.models import SigningKey

    before = client.get("/.well-known/did.json").json()
    keys.signing_key_rotate(controller="portal")
    rotated = client.get("/.well-known/did.json").json()
    keys.signing_key_withdraw(key=SigningKey.objects.get(controller="portal", state="retired"))
    withdrawn = client.get("/.well-known/did.json").json()

    assert (
        run_node_verifier("verify_vc_jwt.mjs", {"jwt": token, "issuerDocument": before, "skipUnsupportedStatus": True})[
            "verified"
        ]
        is True
    )
    assert (
        run_node_verifier(
            "verify_vc_jwt.mjs", {"jwt": token, "issuerDocument": rotated, "skipUnsupportedStatus": True}
        )["verified"]
        is True
    )
    assert (
        run_node_verifier(
            "verify_vc_jwt.mjs", {"jwt": token, "issuerDocument": withdrawn, "skipUnsupportedStatus": True}
        )["verified"]
        is False
    )
