"""The portal's payment-history credential, built from the customer's ledger accounts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from identity.credentials.sd_jwt import present_sd_jwt
from identity.services.verification import presentation_verify
from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import ResultCode, TransferFlags, TransferSpec
from payments.models import AccountCode

pytestmark = pytest.mark.django_db


def _transfer(debit: int, credit: int, flags=TransferFlags.NONE, pending_id=None) -> uuid.UUID:
    spec = TransferSpec(
        id=uuid.uuid4(),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=10_00,
        ledger="EUR",
        code=1,
        flags=flags,
        pending_id=pending_id,
    )
    assert [result.code for result in transfers_create(transfers=[spec])] == [ResultCode.OK]
    return spec.id


def test_the_wallet_gets_a_payment_history_credential_from_the_ledger(client_for, customer, wallet, make_user):
    mine = account_create(ledger="EUR", code=AccountCode.CUSTOMER_PREPAID, owner_reference=f"user:{customer.pk}")
    bank = account_create(ledger="EUR", code=AccountCode.BANK, owner_reference="book:bank")
    merchant = account_create(ledger="EUR", code=AccountCode.MERCHANT_PAYABLE, owner_reference="dealer:1")
    someone = account_create(ledger="EUR", code=AccountCode.CUSTOMER_PREPAID, owner_reference="user:999999")
    _transfer(bank.pk, mine.pk)
    _transfer(mine.pk, merchant.pk)
    posted = _transfer(mine.pk, merchant.pk, TransferFlags.PENDING)
    _transfer(0, 0, TransferFlags.POST_PENDING, pending_id=posted)
    voided = _transfer(mine.pk, merchant.pk, TransferFlags.PENDING)
    _transfer(0, 0, TransferFlags.VOID_PENDING, pending_id=voided)
    _transfer(bank.pk, someone.pk)
    _transfer(someone.pk, merchant.pk)

    response = client_for(customer).post(
        "/api/identity/credit-checks/payment-history",
        {"holderDid": wallet.did, "format": "sd-jwt"},
        content_type="application/json",
    )

    assert response.status_code == 201
    presentation = present_sd_jwt(
        sd_jwt=response.json()["verifiableCredential"],
        disclose=["onTimePaymentCount", "arrearsCount"],
        holder_private_key=wallet.private_key,
        challenge="c-1",
        domain="did:web:dealer.example",
        issued_at=datetime.now(UTC),
    )
    result = presentation_verify(
        presentation=presentation, challenge="c-1", domain="did:web:dealer.example", allow_pending_anchor=True
    )
    assert (result.is_valid, result.reason) == (True, None)
    claims = result.claims[0]
    assert (claims["onTimePaymentCount"], claims["arrearsCount"]) == (2, 1)
    assert {"periodStart", "periodEnd"} & set(claims) == set()
    bad = client_for(customer).post(
        "/api/identity/credit-checks/payment-history", {"holderDid": "did:web:nope"}, content_type="application/json"
    )
    assert (bad.status_code, bad.json()["fields"]) == (422, {"holderDid": ["invalid"]})
