import json

import pytest

from identity.credentials.dids import DidWebKey, build_did_web_document
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.models import CredentialRecord, IssuerClient, SigningKey, TrustedIssuer
from identity.tests.conftest import credit_credential, post_json

pytestmark = pytest.mark.django_db


def test_staff_register_a_hosted_issuer_and_give_it_a_key_shown_once(back_office, client_for):
    staff = client_for(back_office)

    response = staff.post(
        "/identity/issuers/",
        {"name": "Creditreform Demo", "kind": "credit_bureau", "credential_types": ["CreditHistoryCredential"]},
    )

    issuer = TrustedIssuer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/identity/issuers/{issuer.pk}/"
    assert (issuer.is_hosted, issuer.did.startswith("did:key:z6Mk"), issuer.credential_types) == (
        True, True, ["CreditHistoryCredential"]
    )  # fmt: skip
    created = staff.post(f"/identity/issuers/{issuer.pk}/", {"action": "client-create", "name": "core banking"})
    raw_key = created.context["new_key"]
    assert created.status_code == 200
    assert raw_key.startswith("fli_") and raw_key in created.content.decode()
    assert IssuerClient.objects.get().key_hash != raw_key
    assert raw_key not in staff.get(f"/identity/issuers/{issuer.pk}/").content.decode()


def test_staff_register_an_external_did_web_issuer_with_its_pinned_document(back_office, client_for):
    did = "did:web:kyc.example"
    document = build_did_web_document(did=did, keys=[DidWebKey("key-1", public_key_bytes(generate_private_key()))])

    response = client_for(back_office).post(
        "/identity/issuers/",
        {"name": "KYC Example", "kind": "kyc_provider", "credential_types": ["IdentityCredential"], "did": did,
         "did_document": json.dumps(document)},
    )  # fmt: skip

    assert response.status_code == 302
    issuer = TrustedIssuer.objects.get()
    assert (issuer.did, issuer.is_hosted, issuer.did_document["id"]) == (did, False, did)


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"did": "did:web:kyc.example"}, "did_document"),
        ({"did": "did:key:zNotAKey"}, "did"),
        ({"did": "did:example:123"}, "did"),
        ({"did_document": "{not json"}, "did_document"),
        ({"credential_types": ["MagicCredential"]}, "credential_types"),
    ],
)
def test_invalid_registrations_show_errors_next_to_the_field(back_office, client_for, fields, error_field):
    data = {"name": "X", "kind": "kyc_provider", "credential_types": ["IdentityCredential"]} | fields

    response = client_for(back_office).post("/identity/issuers/", data)

    assert response.status_code == 400
    assert error_field in response.context["form"].errors
    assert TrustedIssuer.objects.count() == 0


def test_staff_suspend_an_issuer_and_its_key_stops_working(back_office, client_for, bureau, bureau_client, wallet):
    staff = client_for(back_office)

    response = staff.post(f"/identity/issuers/{bureau.pk}/", {"action": "suspend", "confirmed": "yes"})

    assert response.status_code == 302
    bureau.refresh_from_db()
    assert bureau.state == "suspended"
    refused = post_json(bureau_client, "/credentials/issue", {"credential": credit_credential(subject_did=wallet.did)})
    assert refused.status_code == 401
    staff.post(f"/identity/issuers/{bureau.pk}/", {"action": "reactivate"})
    bureau.refresh_from_db()
    assert bureau.state == "active"


def test_staff_rotate_the_portal_key_on_the_keys_page(back_office, client_for):
    staff = client_for(back_office)
    assert staff.get("/identity/keys/").status_code == 200

    response = staff.post("/identity/keys/", {"action": "rotate", "controller": "portal"})

    assert response.status_code == 302
    assert list(SigningKey.objects.filter(controller="portal").values_list("state", flat=True)) == ["retired", "active"]


def test_staff_revoke_from_the_credentials_page(back_office, client_for, bureau_client, wallet):
    post_json(bureau_client, "/credentials/issue", {"credential": credit_credential(subject_did=wallet.did)})
    record = CredentialRecord.objects.get()
    staff = client_for(back_office)

    page = staff.get("/identity/credentials/")
    response = staff.post(
        "/identity/credentials/", {"credential_id": record.credential_id, "action": "revoke", "confirmed": "yes"}
    )

    assert page.status_code == 200
    assert record.credential_id in page.content.decode()
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status_label == "revoked"
