"""Contract acceptance: the exact document, activation postings in the ledger, mandates with an encrypted IBAN."""

from __future__ import annotations

import hashlib

import pytest

from leasing import ledger
from leasing.errors import DocumentMismatchError, MandateInvalidError
from leasing.models import Contract, ContractStatus, DirectDebitMandate, ScheduleItem
from leasing.services.contracts import contract_accept
from leasing.tests import factories
from payments.ledger.client import account_find
from payments.ledger.registry import Owner, Purpose
from payments.ledger.selectors import transfer_search

pytestmark = pytest.mark.django_db


def _offered(customer, back_office, product, **overrides) -> Contract:
    return factories.application_approved(
        customer=customer, back_office=back_office, product=product, **overrides
    ).contract


def test_the_document_hash_is_the_sha256_of_the_stored_pdf(customer, back_office, loan_product):
    contract = _offered(customer, back_office, loan_product)

    assert contract.document_sha256 == hashlib.sha256(bytes(contract.document_pdf)).hexdigest()
    rows = ScheduleItem.objects.filter(contract=contract).order_by("number")
    assert [row.kind for row in rows[:2]] == ["fee", "instalment"]
    assert rows.filter(kind="instalment").count() == 36


def test_accepting_another_document_is_refused_and_changes_nothing(customer, back_office, loan_product):
    contract = _offered(customer, back_office, loan_product)

    with pytest.raises(DocumentMismatchError):
        contract_accept(
            contract_id=contract.pk, customer=customer, document_sha256="0" * 64, collection_method="portal_balance"
        )

    contract.refresh_from_db()
    assert (contract.status, contract.accepted_at, transfer_search().count()) == (ContractStatus.OFFERED, None, 0)


def test_acceptance_activates_and_pays_out_the_dealer(customer, back_office, dealer_organisation, loan_product):
    contract = factories.contract_active(
        customer=customer, back_office=back_office, product=loan_product, dealer_organisation=dealer_organisation
    )

    assert contract.status == ContractStatus.ACTIVE
    assert contract.accepted_document_sha256 == contract.document_sha256
    assert ledger.receivable_balance_get(account_id=contract.receivable_account_id) == 27_000_00 + 250_00
    dealer_account = account_find(
        ledger="EUR", purpose=Purpose.LEASE_DEALER_PAYABLE, owner=Owner.dealer(dealer_organisation.pk)
    )
    assert dealer_account.credits_posted == 27_000_00
    assert contract.application.status == "contracted"


def test_direct_debit_acceptance_signs_a_mandate_with_the_iban_encrypted(customer, back_office, loan_product):
    contract = factories.contract_active(
        customer=customer,
        back_office=back_office,
        product=loan_product,
        method="sepa_direct_debit",
        iban="DE89 3704 0044 0532 0130 00",
    )

    mandate = DirectDebitMandate.objects.get()
    assert contract.mandate == mandate
    assert b"DE89370400440532013000" not in bytes(mandate.iban_encrypted)
    from leasing.encryption import field_decrypt

    assert field_decrypt(blob=mandate.iban_encrypted, field="mandate.iban") == "DE89370400440532013000"


def test_a_bad_iban_is_refused_and_the_contract_stays_offered(customer, back_office, loan_product):
    contract = _offered(customer, back_office, loan_product)

    with pytest.raises(MandateInvalidError):
        contract_accept(
            contract_id=contract.pk,
            customer=customer,
            document_sha256=contract.document_sha256,
            collection_method="sepa_direct_debit",
            iban="DE00123",
        )

    contract.refresh_from_db()
    assert (contract.status, DirectDebitMandate.objects.count(), transfer_search().count()) == ("offered", 0, 0)
