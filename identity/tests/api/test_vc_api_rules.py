"""Request and response rules of the W3C VC-API test suites, through the HTTP API."""

import pytest

from identity.credentials.status_list import bitstring_from_status_list_credential
from identity.models import CredentialRecord, StatusList
from identity.tests.conftest import credit_credential, post_json

pytestmark = pytest.mark.django_db


def issue(client, credential, securing_format="vc-jwt"):
    return post_json(client, "/credentials/issue", {"credential": credential, "options": {"format": securing_format}})


def test_issue_answers_201_with_the_verifiable_credential_and_its_leaf(bureau_client, bureau, wallet):
    response = issue(bureau_client, credit_credential(subject_did=wallet.did), "data-integrity")

    assert response.status_code == 201
    body = response.json()
    credential = body["verifiableCredential"]
    assert credential["issuer"] == bureau.did
    assert credential["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert [entry["statusPurpose"] for entry in credential["credentialStatus"]] == ["revocation", "suspension"]
    record = CredentialRecord.objects.get()
    assert (record.credential_id, record.issuer_did, record.format) == (credential["id"], bureau.did, "data-integrity")
    assert body["anchor"]["leafHash"] == record.leaf_hash
    assert body["anchor"]["proof"] == f"/credentials/anchors/{record.leaf_hash}"


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        {"options": {"format": "vc-jwt"}},
        {"credential": "a string", "options": {}},
        {"credential": {}, "options": {"format": "cbor-ld"}},
    ],
)
def test_malformed_issue_bodies_are_400_in_the_error_shape(bureau_client, body):
    response = bureau_client.post("/credentials/issue", body, content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"code", "detail", "fields"}
    assert CredentialRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"@context": ["https://www.w3.org/2018/credentials/v1"]}, "@context"),
        ({"type": ["VerifiableCredential"]}, "type"),
        ({"issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}, "issuer"),
        ({"credentialSubject": {"scoreBand": "B"}}, "credentialSubject"),
        ({"validFrom": "yesterday"}, "validFrom"),
        ({"validFrom": "2026-05-01T00:00:00Z", "validUntil": "2026-04-01T00:00:00Z"}, "validUntil"),
        ({"id": "https://example.test/credentials/1"}, "id"),
        ({"proof": {"type": "DataIntegrityProof"}}, "proof"),
    ],
)
def test_well_formed_but_invalid_credentials_are_422_naming_the_field(bureau_client, wallet, change, field):
    response = issue(bureau_client, credit_credential(subject_did=wallet.did) | change)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_credential"
    assert field in response.json()["fields"]
    assert CredentialRecord.objects.count() == 0


def test_a_type_the_issuer_is_not_registered_for_is_refused(bureau_client, wallet):
    credential = credit_credential(subject_did=wallet.did) | {"type": ["VerifiableCredential", "IdentityCredential"]}

    response = issue(bureau_client, credential)

    assert response.status_code == 403
    assert response.json()["code"] == "credential_type_not_allowed"
    assert CredentialRecord.objects.count() == 0


def test_reusing_a_credential_id_is_409(bureau_client, wallet):
    credential = credit_credential(subject_did=wallet.did) | {"id": "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"}
    assert issue(bureau_client, credential).status_code == 201

    again = issue(bureau_client, credential)

    assert again.status_code == 409
    assert again.json()["code"] == "credential_exists"
    assert CredentialRecord.objects.count() == 1


def test_sd_jwt_needs_a_did_key_subject(bureau_client):
    credential = credit_credential(subject_did="did:web:somewhere.example")

    response = issue(bureau_client, credential, "sd-jwt")

    assert response.status_code == 422
    assert CredentialRecord.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"verifiableCredential": 42},
        {"verifiableCredential": ""},
        {"verifiableCredential": "abc.def", "options": {"expectedHolder": 7}},
    ],
)
def test_malformed_verify_bodies_are_400(bureau_client, body):
    response = post_json(bureau_client, "/credentials/verify", body)

    assert response.status_code == 400
    assert set(response.json()) == {"code", "detail", "fields"}


@pytest.mark.parametrize("credential", ["not-a-jwt", "a.b.c", "x~y~", {"type": "VerifiableCredential"}, {"proof": 1}])
def test_credentials_that_are_not_even_credentials_are_malformed_not_500(bureau_client, credential):
    response = post_json(bureau_client, "/credentials/verify", {"verifiableCredential": credential})

    assert response.status_code == 400
    assert response.json()["code"] == "malformed"


def test_presentation_verify_requires_challenge_and_domain(bureau_client):
    response = post_json(bureau_client, "/presentations/verify", {"verifiablePresentation": "a~b~c"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"options"}


def test_status_update_revokes_and_the_published_list_shows_it(bureau_client, wallet, client):
    credential = issue(bureau_client, credit_credential(subject_did=wallet.did), "data-integrity").json()[
        "verifiableCredential"
    ]
    entry = credential["credentialStatus"][0]
    path = entry["statusListCredential"].removeprefix("http://testserver")

    response = post_json(
        bureau_client,
        "/credentials/status",
        {
            "credentialId": credential["id"],
            "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": True}],
        },
    )

    assert response.status_code == 200
    assert response.json() == {"credentialId": credential["id"], "status": "revoked"}
    published = client.get(path)
    assert published.status_code == 200
    list_credential = published.json()
    assert list_credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    bits = bitstring_from_status_list_credential(list_credential, status_purpose="revocation")
    assert bits.get(int(entry["statusListIndex"])) is True
    assert StatusList.objects.get(list_id=path.rsplit("/", 1)[1]).version == 2


def test_revocation_is_final_and_unknown_credentials_are_404(bureau_client, wallet):
    issue(bureau_client, credit_credential(subject_did=wallet.did))
    record = CredentialRecord.objects.get()

    def update(purpose, value, credential=record.credential_id):
        entry = {"type": "BitstringStatusListEntry", "statusPurpose": purpose, "status": value}
        return post_json(
            bureau_client, "/credentials/status", {"credentialId": credential, "credentialStatus": [entry]}
        )

    assert update("revocation", True).status_code == 200
    assert update("revocation", False).status_code == 409
    assert update("suspension", True).status_code == 409
    assert update("revocation", True, "urn:uuid:00000000-0000-0000-0000-000000000000").status_code == 404
    assert update("sometimes", True).status_code == 400
    record.refresh_from_db()
    assert (record.status_label, record.is_suspended) == ("revoked", False)


def test_an_issuer_cannot_change_another_issuers_credential(bureau_client, wallet, issuer_client_for):
    from identity.services import registry

    issue(bureau_client, credit_credential(subject_did=wallet.did))
    other = registry.trusted_issuer_register(
        name="Other", kind="credit_bureau", credential_types=["CreditHistoryCredential"]
    )
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": True}

    response = post_json(
        issuer_client_for(other),
        "/credentials/status",
        {"credentialId": CredentialRecord.objects.get().credential_id, "credentialStatus": [entry]},
    )

    assert response.status_code == 404
    assert CredentialRecord.objects.get().revoked_at is None


def test_status_list_publish_is_204_and_makes_a_new_version(bureau_client, wallet, back_office, client_for):
    issue(bureau_client, credit_credential(subject_did=wallet.did))
    status_list = StatusList.objects.filter(purpose="revocation").get()

    response = client_for(back_office).post(f"/credentials/status/{status_list.list_id}/publish")

    assert response.status_code == 204
    status_list.refresh_from_db()
    assert status_list.version == 2


def test_a_suspended_issuer_key_stops_working(bureau_client, bureau, wallet):
    from identity.services import registry

    registry.trusted_issuer_suspend(issuer=bureau)

    response = issue(bureau_client, credit_credential(subject_did=wallet.did))

    assert response.status_code == 401
    assert CredentialRecord.objects.count() == 0


def test_back_office_issues_as_the_portal_only_the_portals_own_types(back_office, client_for, wallet):
    client = client_for(back_office)
    payment_history = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "PaymentHistoryCredential"],
        "credentialSubject": {"id": wallet.did, "onTimePaymentCount": 12, "arrearsCount": 0},
    }

    issued = issue(client, payment_history)
    refused = issue(client, credit_credential(subject_did=wallet.did))

    assert issued.status_code == 201
    assert CredentialRecord.objects.get().issuer_did == "did:web:localhost"
    assert refused.status_code == 403


def test_vc_jwt_credentials_carry_one_revocation_entry_and_cannot_be_suspended(bureau_client, wallet):
    import json

    from identity.credentials.encoding import b64url_decode

    token = issue(bureau_client, credit_credential(subject_did=wallet.did)).json()["verifiableCredential"]
    status = json.loads(b64url_decode(token.split(".")[1]))["vc"]["credentialStatus"]
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "suspension", "status": True}

    response = post_json(
        bureau_client,
        "/credentials/status",
        {"credentialId": CredentialRecord.objects.get().credential_id, "credentialStatus": [entry]},
    )

    assert status["statusPurpose"] == "revocation"
    assert response.status_code == 422
    assert response.json()["code"] == "suspension_unsupported"
    assert CredentialRecord.objects.get().is_suspended is False
