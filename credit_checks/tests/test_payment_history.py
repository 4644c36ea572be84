"""The portal's payment-history credential, computed from the customer's lease payment facts (read through leasing's
selectors) and issued through the portal's issuance path."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from credit_checks.payment_history import payment_history_credential_issue
from identity.credentials.sd_jwt import present_sd_jwt
from identity.models import CredentialRecord
from identity.services.verification import presentation_verify
from leasing.models import Collection, ScheduleItem
from leasing.services import sepa_returns
from leasing.tests import factories, sepa_support

pytestmark = pytest.mark.django_db
CLAIMS = [
    "onTimePaymentCount",
    "arrearsCount",
    "periodStart",
    "periodEnd",
    "latePayments",
    "missedPayments",
    "returnedDirectDebits",
    "currentArrears",
]


def _claims(issued_sd_jwt: str, wallet, at: datetime.datetime) -> dict:
    """What a verifier learns at ``at`` when the wallet discloses every claim of the credential."""
    presentation = present_sd_jwt(
        sd_jwt=issued_sd_jwt,
        disclose=CLAIMS,
        holder_private_key=wallet.private_key,
        challenge="c-1",
        domain="did:web:dealer.example",
        issued_at=at,
    )
    result = presentation_verify(
        presentation=presentation,
        challenge="c-1",
        domain="did:web:dealer.example",
        allow_pending_anchor=True,
        now=at,
    )
    assert (result.is_valid, result.reason) == (True, None)
    return {name: result.claims[0][name] for name in CLAIMS}


def test_a_returned_debit_and_an_instalment_35_days_late_are_in_the_credential(
    customer, back_office, make_user, wallet, django_capture_on_commit_callbacks
):
    product = factories.loan_product()
    contract = sepa_support.collected(
        customer=customer, back_office=back_office, product=product, capture=django_capture_on_commit_callbacks
    )
    # Another customer's running contract, its first instalment as overdue: none of it may show here.
    sepa_support.sepa_contract(customer=make_user(), back_office=back_office, product=product)
    instalment = Collection.objects.get(contract=contract, schedule_item__kind="instalment")
    sepa_returns.returned_debits_import(
        content=sepa_support.camt054(message_id="NTF-35", returns=[(instalment, "MD06")]),
        file_name="camt054.xml",
        imported_by=back_office,
    )
    returned_on = timezone.localdate()
    first_due = instalment.schedule_item.due_date
    second_due = ScheduleItem.objects.get(
        contract=contract, kind="instalment", number=instalment.schedule_item.number + 1
    ).due_date
    on = first_due + datetime.timedelta(days=35)
    assert first_due < second_due <= on  # a monthly schedule: the next instalment fell due inside the 35 days
    records_before = CredentialRecord.objects.count()

    moment = datetime.datetime.combine(on, datetime.time(12), tzinfo=timezone.get_current_timezone())

    issued = payment_history_credential_issue(user=customer, holder_did=wallet.did, now=moment)

    assert CredentialRecord.objects.count() == records_before + 1
    assert _claims(issued.verifiable_credential, wallet, moment + datetime.timedelta(minutes=1)) == {
        "onTimePaymentCount": 0,
        "arrearsCount": 2,
        "periodStart": (on - datetime.timedelta(days=365)).isoformat(),
        "periodEnd": on.isoformat(),
        "latePayments": [],
        "missedPayments": [
            {"dueDate": first_due.isoformat(), "daysPastDue": 35},
            {"dueDate": second_due.isoformat(), "daysPastDue": (on - second_due).days},
        ],
        "returnedDirectDebits": [{"returnedOn": returned_on.isoformat(), "reasonCode": "MD06"}],
        "currentArrears": [{"daysPastDue": 35, "bucket": "31-60"}],
    }


def test_the_wallet_asks_the_api_and_a_customer_without_a_lease_has_an_empty_history(client_for, customer, wallet):
    records_before = CredentialRecord.objects.count()

    response = client_for(customer).post(
        "/api/identity/credit-checks/payment-history",
        {"holderDid": wallet.did, "format": "sd-jwt"},
        content_type="application/json",
    )

    assert response.status_code == 201
    today = timezone.localdate()
    assert _claims(response.json()["verifiableCredential"], wallet, timezone.now()) == {
        "onTimePaymentCount": 0,
        "arrearsCount": 0,
        "periodStart": (today - datetime.timedelta(days=365)).isoformat(),
        "periodEnd": today.isoformat(),
        "latePayments": [],
        "missedPayments": [],
        "returnedDirectDebits": [],
        "currentArrears": [],
    }
    bad = client_for(customer).post(
        "/api/identity/credit-checks/payment-history", {"holderDid": "did:web:nope"}, content_type="application/json"
    )
    assert (bad.status_code, bad.json()["code"], bad.json()["fields"]) == (
        422,
        "validation_failed",
        {"holderDid": ["invalid"]},
    )
    assert CredentialRecord.objects.count() == records_before + 1
