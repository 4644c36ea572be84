"""Writes of QR payment codes: issuing a code with its balance, blocking a lost code and moving its balance.

Every balance change is a ledger transfer; refusals raise an `ApplicationError` with a named code and roll back, so
a refused request changes nothing. Redemptions are in `payments.qr.redemptions`, invoices in `payments.qr.invoices`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import DealerOrganisation, User
from core.errors import ConflictError, ValidationFailed
from payments.ledger.client import account_get_or_open, transfer_id_derive, transfer_post
from payments.ledger.registry import Owner, Purpose, TransferCode
from payments.ledger.types import ResultCode, TransferSpec
from payments.models import Account, QrCode, QrCodeStatus, QrProduct


def qr_transfer_id(*, purpose: str) -> uuid.UUID:
    """A deterministic transfer id for a business event such as "capture:<redemption id>"."""
    return transfer_id_derive(context="qr", key=purpose)


@transaction.atomic
def qr_product_create(
    *,
    slug: str,
    name: str,
    currency: str = "EUR",
    fixed_amount: int | None = None,
    min_amount: int | None = None,
    max_amount: int | None = None,
    accepted_for: str = "",
    description: str = "",
    accepted_by: Sequence[DealerOrganisation] = (),
) -> QrProduct:
    """Puts a code on sale: a fixed value or a range (minor units of `currency`); `accepted_by` empty = everywhere."""
    product = QrProduct.objects.create(
        slug=slug, name=name, currency=currency, fixed_amount=fixed_amount, min_amount=min_amount,
        max_amount=max_amount, accepted_for=accepted_for, description=description,
    )  # fmt: skip
    product.accepted_by.set(accepted_by)
    return product


def _qr_code_create(*, owner: User, product: QrProduct, currency: str, expires_at: datetime.datetime) -> QrCode:
    public_id = uuid.uuid4()
    account = account_get_or_open(ledger=currency, purpose=Purpose.QR_CODE_BALANCE, owner=Owner.qr_code(public_id.hex))
    return QrCode.objects.create(
        public_id=public_id, owner=owner, product=product, account=account, currency=currency, expires_at=expires_at
    )


@transaction.atomic
def qr_code_issue(
    *, owner: User, product: QrProduct, amount: int, currency: str, funding_account: Account, transfer_id: uuid.UUID
) -> QrCode:
    """Creates a paid code and credits it `amount` minor units from `funding_account` (card clearing or bank).

    `transfer_id` is the purchase transfer's id, chosen by the caller from the order, so paying twice is impossible.
    """
    expires_at = timezone.now() + datetime.timedelta(days=product.validity_days)
    code = _qr_code_create(owner=owner, product=product, currency=currency, expires_at=expires_at)
    transfer_post(
        spec=TransferSpec(
            id=transfer_id,
            debit_account_id=funding_account.pk,
            credit_account_id=code.account_id,
            amount=amount,
            ledger=currency,
            code=TransferCode.QR_PURCHASE,
            user_data=f"qr-purchase:{code.public_id.hex[:16]}",
        )
    )
    return code


def qr_code_available_balance(*, account: Account) -> int:
    """Minor units a code can still spend: posted credits minus posted and reserved debits."""
    return account.credits_posted - account.debits_posted - account.debits_pending


@transaction.atomic
def qr_code_block_and_replace(*, code_id: int, owner: User) -> QrCode:
    """Blocks a lost code (its printed token stops working) and moves its spendable balance to a new code.

    Authorizations a dealer already holds on the old code can still be captured or voided; what a void releases
    later is moved on to the new code (see `qr_code_balance_sweep`). Returns the new code.
    """
    code = QrCode.objects.select_for_update().select_related("product").get(pk=code_id, owner=owner)
    if code.status != QrCodeStatus.ACTIVE:
        raise ConflictError(gettext_lazy("This code is already blocked."), code="code_already_blocked")
    replacement = _qr_code_create(owner=owner, product=code.product, currency=code.currency, expires_at=code.expires_at)
    QrCode.objects.filter(pk=code.pk).update(
        status=QrCodeStatus.BLOCKED, blocked_at=timezone.now(), version=code.version + 1, replaced_by=replacement
    )
    code.refresh_from_db()
    qr_code_balance_sweep(code=code, purpose=f"block:{code.public_id}")
    return replacement


def qr_code_acceptance_check(
    *,
    code: QrCode,
    dealer_organisation_id: int,
    currency: str,
    now: datetime.datetime | None = None,
    accepted_here: bool | None = None,
) -> None:
    """The one check every way of spending a code passes (a dealer's redemption, a customer paying an invoice):
    the code is active, not expired, holds `currency`, and its product is accepted by the dealer organisation that
    would receive the money (`accepted_by` empty = every dealer). Raises a named refusal in that order:
    code_blocked, code_expired, currency_mismatch, code_not_accepted_here. The caller holds the code's row lock.
    `accepted_here`: the acceptance already read with the code (`qr_code_accepted_here`), saving a query."""
    if code.status != QrCodeStatus.ACTIVE:
        raise ValidationFailed(gettext_lazy("This payment code is blocked."), code="code_blocked")
    if code.expires_at <= (now or timezone.now()):
        raise ValidationFailed(gettext_lazy("This payment code has expired."), code="code_expired")
    if currency != code.currency:
        raise ValidationFailed(f"This payment code holds {code.currency}, not {currency}.", code="currency_mismatch")
    if accepted_here is None:
        accepted_by = list(code.product.accepted_by.values_list("pk", flat=True))
        accepted_here = not accepted_by or dealer_organisation_id in accepted_by
    if not accepted_here:
        raise ValidationFailed(gettext_lazy("This payment code is not accepted here."), code="code_not_accepted_here")


def qr_code_current(*, code: QrCode) -> QrCode:
    """The code that now holds a blocked code's money: follows `replaced_by` to the active end of the chain."""
    while code.replaced_by_id is not None:
        code = QrCode.objects.get(pk=code.replaced_by_id)
    return code


def qr_code_balance_sweep(*, code: QrCode, purpose: str) -> int:
    """Moves whatever a blocked code can spend to its replacement; returns the minor units moved (0: nothing)."""
    if code.status != QrCodeStatus.BLOCKED or code.replaced_by_id is None:
        return 0
    account = Account.objects.get(pk=code.account_id)
    available = qr_code_available_balance(account=account)
    if available <= 0:
        return 0
    target = qr_code_current(code=code)
    result = transfer_post(
        spec=TransferSpec(
            id=qr_transfer_id(purpose=purpose),
            debit_account_id=code.account_id,
            credit_account_id=target.account_id,
            amount=available,
            ledger=code.currency,
            code=TransferCode.QR_BALANCE_MOVE,
            user_data=f"qr-move:{code.public_id.hex[:16]}",
        ),
        accept_exists=True,
    )
    return available if result is ResultCode.OK else 0
