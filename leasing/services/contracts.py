"""Contracts: offered on approval with their document, accepted online, activated in the ledger.

Acceptance binds the customer to exactly the document they saw: they send back its SHA-256, which must equal the
stored document's, and the acceptance is kept with its timestamp. Activation posts, in one linked chain, the payout of
the financed amount to the originating dealer (or the vehicle supplier) against the contract's receivable, and the
arrangement fee; the stored schedule starts being collected from then on.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from stdnum import bic as bic_number
from stdnum import iban as iban_number
from stdnum.exceptions import ValidationError as StdnumValidationError

from accounts.models import User
from leasing import ledger
from leasing.encryption import field_encrypt
from leasing.errors import ContractStateError, DocumentMismatchError, MandateInvalidError
from leasing.models import (
    Application,
    CollectionMethod,
    Contract,
    ContractEvent,
    ContractStatus,
    DirectDebitMandate,
    ScheduleItem,
    ScheduleItemKind,
)
from leasing.notifications import contract_offered_notify
from leasing.rendering import contract_pdf_render
from leasing.services.quotes import quote_terms
from leasing.services.schedules import contract_schedule, schedule_items_write
from payments.ledger.client import account_get_or_open
from payments.ledger.registry import Owner, Purpose, TransferCode


def _contract_number() -> str:
    return f"LC-{secrets.token_hex(4).upper()}"


def contract_offer(*, application: Application) -> Contract:
    """Creates the contract of an approved application with its schedule rows and its PDF (status offered)."""
    quote = application.quote
    terms = quote_terms(quote=quote)
    contract = Contract(
        number=_contract_number(),
        application=application,
        customer=application.customer,
        dealer_organisation=application.dealer_organisation,
        product=quote.product,
        kind=quote.product.kind,
        currency=quote.currency,
        price=quote.price,
        down_payment=quote.down_payment,
        financed_amount=quote.financed_amount,
        residual_value=quote.residual_value,
        arrangement_fee=quote.arrangement_fee,
        monthly_services=quote.monthly_services,
        nominal_rate_percent=quote.nominal_rate_percent,
        aprc_percent=quote.aprc_percent,
        term_months=quote.term_months,
        yearly_km=quote.yearly_km,
        timing=quote.timing,
        start_date=terms.start_date,
        schedule_principal=terms.financed_amount.amount,
        schedule_start_date=terms.start_date,
        schedule_periods=terms.periods,
    )
    schedule = contract_schedule(contract=contract)
    contract.document_pdf = contract_pdf_render(contract=contract, schedule=schedule)
    contract.document_sha256 = hashlib.sha256(contract.document_pdf).hexdigest()
    contract.save()
    if contract.arrangement_fee:
        ScheduleItem.objects.create(
            contract=contract,
            number=0,
            kind=ScheduleItemKind.FEE,
            due_date=contract.start_date,
            amount=contract.arrangement_fee,
            fee=contract.arrangement_fee,
        )
    schedule_items_write(contract=contract, schedule=schedule)
    ContractEvent.objects.create(contract=contract, kind="offered", detail=f"document {contract.document_sha256}")
    contract_offered_notify(contract=contract)
    return contract


def mandate_create(*, customer: User, iban: str, bic: str = "") -> DirectDebitMandate:
    """A SEPA Core mandate signed online today; the IBAN is validated (ISO 13616 checksum) and stored encrypted.
    The debtor bank's BIC is optional (IBAN-only is allowed in SEPA); when given it must be a valid ISO 9362 BIC."""
    try:
        compact = iban_number.validate(iban or "")
    except StdnumValidationError:
        raise MandateInvalidError(
            gettext_lazy("This IBAN is not valid."), fields={"iban": ["Not a valid IBAN."]}
        ) from None
    try:
        bank_code = bic_number.validate(bic) if bic.strip() else ""
    except StdnumValidationError:
        raise MandateInvalidError(
            gettext_lazy("This BIC is not valid."), fields={"bic": ["Not a valid BIC."]}
        ) from None
    return DirectDebitMandate.objects.create(
        reference=f"FLM-{secrets.token_hex(8).upper()}",
        customer=customer,
        iban_encrypted=field_encrypt(value=compact, field="mandate.iban"),
        bic=bank_code,
        signed_on=timezone.localdate(),
    )


@transaction.atomic
def contract_accept(
    *,
    contract_id: int,
    customer: User,
    document_sha256: str,
    collection_method: str,
    iban: str = "",
    bic: str = "",
) -> Contract:
    """The customer accepts the offered contract whose document has `document_sha256`; activates it.

    For SEPA collection a mandate is signed with `iban`. Any refusal (another document, a bad IBAN, a contract not
    offered) raises a named error and leaves the contract offered.
    """
    contract = Contract.objects.select_for_update().get(pk=contract_id, customer=customer)
    if contract.status != ContractStatus.OFFERED:
        raise ContractStateError(gettext_lazy("This contract is not waiting for acceptance."))
    if document_sha256 != contract.document_sha256:
        raise DocumentMismatchError(gettext_lazy("The accepted document is not the contract's current document."))
    if collection_method not in CollectionMethod.values:
        raise MandateInvalidError(
            gettext_lazy("Choose how instalments are collected."), code="collection_method_invalid"
        )
    if collection_method == CollectionMethod.SEPA_DIRECT_DEBIT:
        contract.mandate = mandate_create(customer=customer, iban=iban, bic=bic)
    now = timezone.now()
    contract.collection_method = collection_method
    contract.accepted_at, contract.accepted_document_sha256 = now, document_sha256
    contract.status, contract.activated_at = ContractStatus.ACTIVE, now
    contract.receivable_account_id = account_get_or_open(
        ledger=contract.currency, purpose=Purpose.LEASE_RECEIVABLE, owner=Owner.lease(contract.pk)
    ).pk
    contract.save()
    _activation_post(contract=contract)
    application = contract.application
    application.status = "contracted"
    application.save(update_fields=["status", "updated_at"])
    ContractEvent.objects.create(
        contract=contract, kind="accepted", detail=f"document {document_sha256}", actor=customer
    )
    return contract


def _activation_post(*, contract: Contract) -> None:
    """Pays the financed amount out to the dealer (or the supplier) and charges the arrangement fee."""
    currency = contract.currency
    if contract.dealer_organisation_id:
        payee = account_get_or_open(
            ledger=currency, purpose=Purpose.LEASE_DEALER_PAYABLE, owner=Owner.dealer(contract.dealer_organisation_id)
        ).pk
    else:
        payee = ledger.book_account_id(purpose=Purpose.LEASE_SUPPLIER_BANK, currency=currency)
    receivable = contract.receivable_account_id
    ledger.posting_book(
        event=f"activation:{contract.pk}",
        currency=currency,
        legs=[
            ledger.Leg("payout", receivable, payee, contract.financed_amount, TransferCode.LEASE_DEALER_PAYOUT),
            ledger.Leg(
                "fee",
                receivable,
                ledger.book_account_id(purpose=Purpose.LEASE_FEE_REVENUE, currency=currency),
                contract.arrangement_fee,
                TransferCode.LEASE_FEE_CHARGE,
            ),
        ],
    )
