"""Reads of QR payment codes with their access rules: object lookups 404 both for missing and for not-yours."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from accounts.roles import Role
from core.money import Money
from payments.models import (
    Account,
    BankStatementEntry,
    CheckoutOrder,
    DealerInvoice,
    QrCode,
    QrCodeStatus,
    QrProduct,
    QrRedemption,
)
from payments.models.checkout import REVIEW_STATUSES
from payments.qr.services import qr_code_available_balance
from payments.qr.tokens import qr_token_sign


def qr_product_list_active() -> QuerySet[QrProduct]:
    return QrProduct.objects.filter(is_active=True).prefetch_related("accepted_by").order_by("name")


def qr_product_get_active(*, slug: str) -> QrProduct:
    product = qr_product_list_active().filter(slug=slug).first()
    if product is None:
        raise Http404("No such product.")
    return product


def _uuid_or_404(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Http404("Not found.") from None


@dataclass(frozen=True, slots=True)
class CodeView:
    """A code as its owner sees it: balances in minor units (posted, and available after reservations)."""

    code: QrCode
    balance: Money
    available: Money
    token: str

    @property
    def is_active(self) -> bool:
        return self.code.status == QrCodeStatus.ACTIVE


def qr_code_view(*, code: QrCode) -> CodeView:
    account = Account.objects.get(pk=code.account_id)
    return CodeView(
        code=code,
        balance=Money(account.credits_posted - account.debits_posted, code.currency),
        available=Money(qr_code_available_balance(account=account), code.currency),
        token=qr_token_sign(public_id=code.public_id, version=code.version, expires_at=code.expires_at),
    )


def qr_code_list_for_user(*, user: User) -> list[CodeView]:
    codes = QrCode.objects.filter(owner=user).select_related("product", "account").order_by("-created_at", "-id")
    return [qr_code_view(code=code) for code in codes]


def qr_code_get_for_user(*, user: User, public_id: str | uuid.UUID) -> QrCode:
    code = (
        QrCode.objects.select_related("product", "replaced_by")
        .filter(public_id=_uuid_or_404(public_id), owner=user)
        .first()
    )
    if code is None:
        raise Http404("No such code.")
    return code


def checkout_order_get_for_user(*, user: User, public_id: str | uuid.UUID) -> CheckoutOrder:
    order = (
        CheckoutOrder.objects.select_related("product", "code")
        .filter(public_id=_uuid_or_404(public_id), customer=user)
        .first()
    )
    if order is None:
        raise Http404("No such order.")
    return order


def qr_redemption_list_for_dealer(*, user: User) -> QuerySet[QrRedemption]:
    return (
        QrRedemption.objects.filter(dealer_organisation_id=user.dealer_organisation_id)
        .select_related("code")
        .order_by("-created_at", "-id")
    )


def qr_redemption_get_for_user(*, user: User, public_id: str | uuid.UUID) -> QrRedemption:
    """A redemption of the dealer's own organisation (back office may see every one)."""
    redemptions = QrRedemption.objects.select_related("code", "dealer_organisation")
    if user.role != Role.BACK_OFFICE:
        redemptions = redemptions.filter(dealer_organisation_id=user.dealer_organisation_id or -1)
    redemption = redemptions.filter(public_id=_uuid_or_404(public_id)).first()
    if redemption is None:
        raise Http404("No such redemption.")
    return redemption


def dealer_invoice_list_for_dealer(*, user: User) -> QuerySet[DealerInvoice]:
    return DealerInvoice.objects.filter(dealer_organisation_id=user.dealer_organisation_id).order_by("-created_at")


def dealer_invoice_get_for_dealer(*, user: User, public_id: str | uuid.UUID) -> DealerInvoice:
    invoice = DealerInvoice.objects.filter(
        public_id=_uuid_or_404(public_id), dealer_organisation_id=user.dealer_organisation_id or -1
    ).first()
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def dealer_invoice_get_by_reference(*, reference: str) -> DealerInvoice:
    """An invoice a customer scanned or was sent: anyone holding its reference may open and pay it."""
    invoice = DealerInvoice.objects.select_related("dealer_organisation").filter(reference=reference).first()
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def bank_review_queue() -> QuerySet[BankStatementEntry]:
    """Statement entries waiting for staff: partial, overpaid, unknown and already-paid payments, oldest first."""
    return BankStatementEntry.objects.filter(status__in=REVIEW_STATUSES).select_related("order").order_by("id")


def bank_review_entry_get(*, entry_id: int) -> BankStatementEntry:
    entry = bank_review_queue().filter(pk=entry_id).first()
    if entry is None:
        raise Http404("No such review item.")
    return entry
