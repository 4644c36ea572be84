import pytest

from core import encryption
from core.errors import ValidationFailed
from identity.credentials.dids import public_key_for_method
from identity.credentials.keys import private_key_to_bytes
from identity.models import SigningKey
from identity.services import keys
from identity.services.verification import credential_verify
from identity.tests.conftest import credit_credential

pytestmark = pytest.mark.django_db


def test_private_keys_are_stored_encrypted_and_bound_to_their_row():
    signer = keys.signer_for(controller=keys.PORTAL_CONTROLLER, did=keys.portal_did())
    stored = SigningKey.objects.get(controller="portal")
    raw = private_key_to_bytes(signer.private_key)

    assert raw not in bytes(stored.encrypted_private_key)
    assert bytes(stored.encrypted_private_key)[:1] == encryption.VERSION
    context = b"portal#" + stored.key_id.encode()
    assert encryption.field_decrypt(blob=stored.encrypted_private_key, context=context) == raw
    with pytest.raises(encryption.DecryptionFailed):
        encryption.field_decrypt(blob=stored.encrypted_private_key, context=b"dealer:other#" + stored.key_id.encode())


def test_portal_did_document_is_served_at_the_well_known_path(client, settings):
    settings.PORTAL_HOST = "localhost:8000"

    response = client.get("/.well-known/did.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/did+json"
    document = response.json()
    assert document["id"] == "did:web:localhost%3A8000"
    key = SigningKey.objects.get(controller="portal")
    method = f"did:web:localhost%3A8000#{key.key_id}"
    assert public_key_for_method(did_document=document, method_id=method) == bytes(key.public_key)


def test_dealer_did_document_and_unknown_dealer(client, dealer_organisation):
    response = client.get(f"/dealers/{dealer_organisation.slug}/did.json")

    assert response.status_code == 200
    assert response.json()["id"] == f"did:web:localhost:dealers:{dealer_organisation.slug}"
    assert client.get("/dealers/no-such-dealer/did.json").status_code == 404


def test_rotation_keeps_old_credentials_verifiable_and_withdrawal_breaks_them(back_office, client_for, wallet):
    from identity.services import issuance

    credential = credit_credential(subject_did=wallet.did) | {
        "type": ["VerifiableCredential", "PaymentHistoryCredential"]
    }
    issued = issuance.credential_issue(
        party=issuance.issuing_party_portal(), credential=credential, securing_format="vc-jwt"
    )
    old_key = SigningKey.objects.get(controller="portal")

    new_key = keys.signing_key_rotate(controller="portal")

    old_key.refresh_from_db()
    assert (old_key.state, new_key.state) == ("retired", "active")
    document = keys.portal_did_document()
    assert [method["id"].rsplit("#", 1)[1] for method in document["verificationMethod"]] == [
        old_key.key_id, f"{old_key.key_id}-multikey", new_key.key_id, f"{new_key.key_id}-multikey", "x509-issuer"
    ]  # fmt: skip
    assert credential_verify(credential=issued.verifiable_credential, allow_pending_anchor=True).is_valid is True
    signer = keys.signer_for(controller="portal", did=keys.portal_did())
    assert signer.jwk_method.endswith(new_key.key_id)

    keys.signing_key_withdraw(key=old_key)

    result = credential_verify(credential=issued.verifiable_credential, allow_pending_anchor=True)
    assert (result.is_valid, result.reason) == (False, "unknown_issuer")
    with pytest.raises(ValidationFailed):
        keys.signing_key_withdraw(key=new_key)


def test_hosted_did_key_issuers_do_not_rotate(bureau):
    with pytest.raises(ValidationFailed):
        keys.signing_key_rotate(controller=keys.issuer_controller(bureau.pk))
    assert SigningKey.objects.filter(controller=keys.issuer_controller(bureau.pk)).count() == 1
