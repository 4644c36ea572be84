"""Dealer invoices as EMVCo merchant-presented QR codes, paid by customers from a code's balance.

The payload is dynamic (point of initiation 12) and carries the portal's merchant account template (ID 26: globally
unique identifier `eu.finlab.portal` and the dealer's organisation id), MCC 7538 (automotive service shops), the amount
and currency, and the invoice reference in ID 62/05. Paying reserves the amount on the code and requests settlement to
the dealer's payable account in the same transaction; a settlement batch posts it.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import DealerOrganisation, User
from core.errors import ConflictError, ValidationFailed
from core.money import Money
from payments.codes.emv import TlvField, TlvTemplate, emv_invoice_payload, emv_payload_parse
from payments.ledger.client import LedgerRefused, account_get_or_open, transfer_post
from payments.ledger.registry import Owner, Purpose, TransferCode
from payments.ledger.types import ResultCode, TransferFlags, TransferSpec
from payments.models import Account, DealerInvoice, DealerInvoiceStatus, QrCode
from payments.qr.services import qr_code_acceptance_check, qr_transfer_id
from payments.settlement.services import settlement_request

MERCHANT_GUID = "eu.finlab.portal"
MERCHANT_CATEGORY_CODE = "7538"
COUNTRY_CODE = "DE"
MERCHANT_CITY = "Berlin"
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def invoice_merchant_account(*, dealer_organisation_id: int) -> TlvTemplate:
    return TlvTemplate(
        tag="26",
        fields=(TlvField(tag="00", value=MERCHANT_GUID), TlvField(tag="01", value=str(dealer_organisation_id))),
    )


def _ascii_name(name: str) -> str:
    return (name.encode("ascii", "replace").decode("ascii").replace("?", " ").strip() or "FinLab dealer")[:25]


@transaction.atomic
def dealer_invoice_create(
    *, user: User, organisation: DealerOrganisation, amount: int, currency: str = "EUR", description: str = ""
) -> DealerInvoice:
    """Creates an open invoice of `amount` minor units and its EMV MPM payload."""
    if amount <= 0:
        raise ValidationFailed(gettext_lazy("The amount must be positive."), code="amount_invalid")
    reference = "INV" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))
    payload = emv_invoice_payload(
        merchant_accounts=(invoice_merchant_account(dealer_organisation_id=organisation.pk),),
        merchant_category_code=MERCHANT_CATEGORY_CODE,
        country_code=COUNTRY_CODE,
        merchant_name=_ascii_name(organisation.name),
        merchant_city=MERCHANT_CITY,
        amount=Money(amount, currency),
        reference_label=reference,
    )
    return DealerInvoice.objects.create(
        dealer_organisation=organisation,
        created_by=user,
        reference=reference,
        description=description[:120],
        amount=amount,
        currency=currency,
        payload=payload,
    )


def dealer_invoice_reference_from_payload(*, payload: str) -> str:
    """The invoice reference of a scanned EMV payload issued by this portal; raises `ValidationFailed` otherwise."""
    parsed = emv_payload_parse(payload.strip())
    templates = [account for account in parsed.merchant_accounts if isinstance(account, TlvTemplate)]
    is_ours = any(f.tag == "00" and f.value == MERCHANT_GUID for t in templates for f in t.fields)
    reference = parsed.additional_data.reference_label if parsed.additional_data else None
    if not is_ours or not reference:
        raise ValidationFailed(gettext_lazy("This QR code is not a FinLab invoice."), code="invoice_unknown")
    return reference


@transaction.atomic
def dealer_invoice_pay(*, invoice_id: int, code_id: int, customer: User) -> DealerInvoice:
    """Pays an open invoice from one of the customer's codes; the code passes the same acceptance check as a
    dealer's redemption (active, not expired, same currency, accepted by the invoicing dealer). Refusals change
    nothing."""
    invoice = DealerInvoice.objects.select_for_update().get(pk=invoice_id)
    if invoice.status != DealerInvoiceStatus.OPEN:
        raise ConflictError(gettext_lazy("This invoice is paid already."), code="invoice_already_paid")
    code = QrCode.objects.select_for_update().select_related("product").filter(pk=code_id, owner=customer).first()
    if code is None:
        raise ValidationFailed(gettext_lazy("Choose one of your codes."), code="code_unknown")
    qr_code_acceptance_check(
        code=code, dealer_organisation_id=invoice.dealer_organisation_id, currency=invoice.currency
    )
    payable = account_get_or_open(
        ledger=invoice.currency,
        purpose=Purpose.QR_DEALER_PAYABLE,
        owner=Owner.dealer(invoice.dealer_organisation_id),
    )
    transfer_id = qr_transfer_id(purpose=f"invoice:{invoice.public_id}")
    try:
        transfer_post(
            spec=TransferSpec(
                id=transfer_id, debit_account_id=code.account_id, credit_account_id=payable.pk,
                amount=invoice.amount, ledger=invoice.currency, code=TransferCode.QR_INVOICE,
                flags=TransferFlags.PENDING, user_data=f"qr-invoice:{invoice.reference}",
            )
        )  # fmt: skip
    except LedgerRefused as refusal:
        if refusal.ledger_code is ResultCode.EXCEEDS_CREDITS:
            account = Account.objects.get(pk=code.account_id)
            exhausted = account.credits_posted - account.debits_posted <= 0
            raise ValidationFailed(
                gettext_lazy("The code's balance does not cover the invoice."),
                code="code_exhausted" if exhausted else "insufficient_balance",
            ) from None
        raise
    settlement_request(pending_transfer_id=transfer_id)
    DealerInvoice.objects.filter(pk=invoice.pk).update(
        status=DealerInvoiceStatus.PAID, paid_with=code, transfer_id=transfer_id, paid_at=timezone.now()
    )
    invoice.refresh_from_db()
    return invoice
