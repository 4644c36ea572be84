from __future__ import annotations

from datetime import date, timedelta

import pytest

from identity.credentials.types import build_identity_credential, build_payment_history_credential
from identity.tests.credentials.conftest import NOW


def test_credit_history_credential(credit_credential, holder):
    assert credit_credential() == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:6a1f2c9e-0c53-4d37-9b0e-3f1c1b7c2a10",
        "type": ["VerifiableCredential", "CreditHistoryCredential"],
        "issuer": "did:web:portal.example",
        "validFrom": "2026-02-28T12:00:00Z",
        "validUntil": "2026-05-30T12:00:00Z",
        "credentialSubject": {
            "id": holder.did,
            "scoreBand": "B",
            "affordabilityCeilingPerMonth": {"amountMinor": 65_000, "currency": "EUR"},
            "negativeRecordBand": "none",
            "asOf": "2026-03-01",
            "issuerPolicy": "https://portal.example/policies/credit-bands/v1",
        },
    }


@pytest.mark.parametrize(
    "override",
    [
        {"affordability_ceiling_minor": 650.0},
        {"affordability_ceiling_minor": True},
        {"currency": "eur"},
        {"score_band": "Z"},
    ],
)
def test_credit_history_refuses_bad_values(credit_credential, override):
    with pytest.raises(ValueError):
        credit_credential(**override)


def test_identity_credential():
    credential = build_identity_credential(
        credential_id="urn:uuid:1",
        issuer="did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        subject_did="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        is_verified=True,
        is_over_18=True,
        country_code="DE",
        valid_from=NOW,
        valid_until=NOW + timedelta(days=365),
    )
    assert credential["type"] == ["VerifiableCredential", "IdentityCredential"]
    assert credential["credentialSubject"] == {
        "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "isVerified": True,
        "isOver18": True,
        "countryOfResidence": "DE",
    }


def test_payment_history_credential():
    credential = build_payment_history_credential(
        credential_id="urn:uuid:2",
        issuer="did:web:portal.example",
        subject_did="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        on_time_payment_count=23,
        arrears_count=1,
        period_start=date(2024, 3, 1),
        period_end=date(2026, 2, 28),
        valid_from=NOW,
        valid_until=NOW + timedelta(days=365),
    )
    assert credential["credentialSubject"] == {
        "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "onTimePaymentCount": 23,
        "arrearsCount": 1,
        "periodStart": "2024-03-01",
        "periodEnd": "2026-02-28",
    }
    with pytest.raises(ValueError):
        build_payment_history_credential(
            credential_id="urn:uuid:2",
            issuer="did:web:portal.example",
            subject_did="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            on_time_payment_count=-1,
            arrears_count=0,
            period_start=date(2024, 3, 1),
            period_end=date(2026, 2, 28),
            valid_from=NOW,
            valid_until=NOW + timedelta(days=365),
        )
