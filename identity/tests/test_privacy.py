"""Issuance, presentation, verification and revocation with distinctive personal values leave no trace of them in
any column of any table, nor in the logs."""

import logging
from datetime import UTC, datetime

import pytest
from django.db import connection

from identity.credentials.jwt_vc import sign_presentation_jwt
from identity.credentials.sd_jwt import present_sd_jwt
from identity.services import registry
from identity.tests.conftest import post_json

pytestmark = pytest.mark.django_db

NAME = "Zebulon Quixwater"
BIRTH_DATE = "1961-07-19"
INCOME = 98765
PERSONAL_VALUES = [NAME, "Quixwater", BIRTH_DATE, str(INCOME)]
DOMAIN = "did:web:localhost:dealers:autohaus-nord"


def occurrences(needles: list[str]) -> dict[tuple[str, str], list[str]]:
    """Every (table, column) of the database whose text (or bytes) contains one of ``needles``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        columns = cursor.fetchall()
        found: dict[tuple[str, str], list[str]] = {}
        for table, column, data_type in columns:
            for needle in needles:
                if data_type == "bytea":
                    condition, parameter = "position(convert_to(%s, 'UTF8') in {col}) > 0", needle
                else:
                    condition, parameter = "CAST({col} AS text) LIKE %s", f"%{needle}%"
                quoted_table, quoted_column = connection.ops.quote_name(table), connection.ops.quote_name(column)
                query = f"SELECT 1 FROM {quoted_table} WHERE {condition.format(col=quoted_column)} LIMIT 1"  # noqa: S608 - names from information_schema
                cursor.execute(query, [parameter])
                if cursor.fetchone():
                    found.setdefault((table, column), []).append(needle)
    return found


def test_no_personal_value_is_stored_or_logged(caplog, bureau_client, wallet, anchor_now, back_office, client_for):
    caplog.set_level(logging.DEBUG)
    kyc = registry.trusted_issuer_register(name="KYC One", kind="kyc_provider", credential_types=["IdentityCredential"])
    _key, kyc_raw = registry.issuer_client_create(issuer=kyc, name="kyc system")
    kyc_client = type(bureau_client)(headers={"Authorization": f"Bearer {kyc_raw}"})
    subject = {"id": wallet.did, "name": NAME, "birthDate": BIRTH_DATE, "isOver18": True, "countryOfResidence": "DE"}
    identity = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "IdentityCredential"],
        "credentialSubject": subject,
    }
    credit_subject = {"id": wallet.did, "scoreBand": "B", "annualIncomeMinor": INCOME, "holderName": NAME}
    credit = identity | {
        "type": ["VerifiableCredential", "CreditHistoryCredential"],
        "credentialSubject": credit_subject,
    }

    issued = {}
    for securing_format in ("vc-jwt", "data-integrity", "sd-jwt"):
        response = post_json(
            kyc_client, "/credentials/issue", {"credential": identity, "options": {"format": securing_format}}
        )
        assert response.status_code == 201
        issued[securing_format] = response.json()["verifiableCredential"]
    credit_sd_jwt = post_json(
        bureau_client, "/credentials/issue", {"credential": credit, "options": {"format": "sd-jwt"}}
    )
    assert credit_sd_jwt.status_code == 201
    anchor_now()

    dealer_client = client_for(back_office)
    for credential in issued.values():
        assert post_json(dealer_client, "/credentials/verify", {"verifiableCredential": credential}).status_code == 200
    sd_presentation = present_sd_jwt(
        sd_jwt=credit_sd_jwt.json()["verifiableCredential"],
        disclose=["scoreBand", "annualIncomeMinor", "holderName"],
        holder_private_key=wallet.private_key,
        challenge="challenge-1",
        domain=DOMAIN,
        issued_at=datetime.now(UTC),
    )
    vp_jwt = sign_presentation_jwt(
        credentials=[issued["vc-jwt"]],
        holder_private_key=wallet.private_key,
        holder_method_id=wallet.method,
        challenge="challenge-2",
        domain=DOMAIN,
        issued_at=datetime.now(UTC),
    )
    first = post_json(
        dealer_client,
        "/presentations/verify",
        {"verifiablePresentation": sd_presentation, "options": {"challenge": "challenge-1", "domain": DOMAIN}},
    )
    second = post_json(
        dealer_client,
        "/presentations/verify",
        {"verifiablePresentation": vp_jwt, "options": {"challenge": "challenge-2", "domain": DOMAIN}},
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["credentials"][0]["claims"]["holderName"] == NAME  # the verifier saw it; the database must not
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": True}
    revoked = post_json(
        kyc_client, "/credentials/status", {"credentialId": issued["data-integrity"]["id"], "credentialStatus": [entry]}
    )
    assert revoked.status_code == 200
    refused = post_json(dealer_client, "/credentials/verify", {"verifiableCredential": issued["data-integrity"]})
    assert refused.json()["code"] == "revoked"
    anchor_now()

    signed_forms = [issued["vc-jwt"].split(".")[1][:48], issued["sd-jwt"].split("~")[1], sd_presentation.split("~")[1]]
    found = occurrences(PERSONAL_VALUES + signed_forms)

    assert found == {}
    assert all(value not in caplog.text for value in PERSONAL_VALUES)
    # The same scan does find what the portal is meant to keep: the credential's id and its leaf hash.
    kept = occurrences([issued["data-integrity"]["id"]])
    assert ("identity_credentialrecord", "credential_id") in kept
    assert ("identity_anchorleaf", "reference") in kept
