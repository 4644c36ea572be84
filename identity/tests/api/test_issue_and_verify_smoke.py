import pytest

from identity.tests.conftest import credit_credential, post_json


@pytest.mark.django_db
@pytest.mark.parametrize("securing_format", ["vc-jwt", "data-integrity", "sd-jwt"])
def test_issued_credential_verifies_once_anchored(securing_format, bureau_client, wallet, anchor_now):
    issued = post_json(
        bureau_client,
        "/credentials/issue",
        {"credential": credit_credential(subject_did=wallet.did), "options": {"format": securing_format}},
    )
    assert issued.status_code == 201, issued.content
    credential = issued.json()["verifiableCredential"]

    before = post_json(bureau_client, "/credentials/verify", {"verifiableCredential": credential})
    anchor_now()
    after = post_json(bureau_client, "/credentials/verify", {"verifiableCredential": credential})

    assert before.status_code == 400
    assert before.json()["code"] == "anchor_missing"
    assert after.status_code == 200, after.content
    assert after.json()["verified"] is True
