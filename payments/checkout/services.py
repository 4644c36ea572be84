"""Writes of checkout: placing an order, and paying it (which issues the customer's QR code with its balance)."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import ConflictError, ValidationFailed
from payments.checkout.providers import CheckoutStart, payment_provider_get, payment_provider_is_offered
from payments.codes.epc import rf_reference_create
from payments.ledger.client import transfer_id_derive, transfer_post
from payments.ledger.registry import Purpose, TransferCode
from payments.ledger.types import TransferSpec
from payments.models import (
    Account,
    CheckoutOrder,
    CheckoutOrderKind,
    CheckoutOrderStatus,
    CheckoutProvider,
    QrProduct,
)
from payments.qr.services import qr_code_issue, qr_transfer_id

# The wallet accounts a card top-up may credit, and the transfer code it books with.
TOP_UP_PURPOSES: dict[str, TransferCode] = {Purpose.MACHINE_WALLET: TransferCode.MACHINE_TOP_UP}

logger = logging.getLogger(__name__)


def checkout_amount_validate(*, product: QrProduct, amount: int | None) -> int:
    """The order amount in minor units: the fixed value, or the customer's choice within the product's limits."""
    if product.fixed_amount is not None:
        if amount not in (None, product.fixed_amount):
            raise ValidationFailed(
                gettext_lazy("This product has a fixed value."),
                code="amount_not_allowed",
                fields={"amount": ["not_allowed"]},
            )
        return product.fixed_amount
    if amount is None or not product.min_amount <= amount <= product.max_amount:  # type: ignore[operator]
        raise ValidationFailed(
            gettext_lazy("Choose a value within the product's limits."),
            code="amount_out_of_range",
            fields={"amount": ["out_of_range"]},
        )
    return amount


@transaction.atomic
def checkout_order_create(
    *, customer: User, product: QrProduct, amount: int | None, provider: str
) -> tuple[CheckoutOrder, CheckoutStart]:
    """Places an order of one code; SEPA orders get their RF creditor reference. Returns where to go next."""
    if not product.is_active:
        raise ValidationFailed(gettext_lazy("This product is no longer on sale."), code="product_inactive")
    if provider not in CheckoutProvider.values:
        raise ValidationFailed(gettext_lazy("Unknown payment method."), code="provider_unknown")
    if not payment_provider_is_offered(name=provider):
        raise ValidationFailed(
            gettext_lazy("This payment method is not offered here."),
            code="provider_unavailable",
            fields={"provider": ["unavailable"]},
        )
    order = CheckoutOrder.objects.create(
        customer=customer,
        product=product,
        amount=checkout_amount_validate(product=product, amount=amount),
        currency=product.currency,
        provider=provider,
    )
    if provider == CheckoutProvider.SEPA_TRANSFER:
        order.creditor_reference = rf_reference_create(reference=f"QR{order.pk:010d}")
        order.save(update_fields=["creditor_reference"])
    return order, payment_provider_get(name=provider).checkout_start(order=order)


@transaction.atomic
def checkout_top_up_order_create(
    *, customer: User, credit_account_id: int, amount: int, return_path: str
) -> tuple[CheckoutOrder, CheckoutStart]:
    """Places a card order of `amount` minor units that credits the wallet account `credit_account_id` once paid.

    The caller (the product owning the wallet) has checked that `customer` may fund it and the amount limits; this
    checks that the account is a wallet that takes top-ups and that card payments are offered (top-ups are paid by
    card only: a SEPA transfer would need its own reference on the bank statement). Returns where to go next.
    """
    provider = CheckoutProvider.CARD_SANDBOX
    account = Account.objects.filter(pk=credit_account_id, purpose__in=list(TOP_UP_PURPOSES)).first()
    if account is None:
        raise ValidationFailed(gettext_lazy("This wallet cannot be topped up."), code="wallet_unknown")
    if not payment_provider_is_offered(name=provider):
        raise ValidationFailed(
            gettext_lazy("This payment method is not offered here."),
            code="provider_unavailable",
            fields={"provider": ["unavailable"]},
        )
    if amount <= 0:
        raise ValidationFailed(gettext_lazy("The amount must be positive."), code="amount_invalid")
    order = CheckoutOrder.objects.create(
        customer=customer,
        kind=CheckoutOrderKind.WALLET_TOP_UP,
        credit_account=account,
        return_path=return_path,
        amount=amount,
        currency=account.ledger,
        provider=provider,
    )
    return order, payment_provider_get(name=provider).checkout_start(order=order)


def checkout_top_up_transfer_id(*, order: CheckoutOrder) -> uuid.UUID:
    """The one transfer a paid top-up order books: derived from the order, so paying twice books once."""
    return transfer_id_derive(context="checkout:top-up", key=str(order.public_id))


def _top_up_book(*, order: CheckoutOrder, funding_account: Account) -> uuid.UUID:
    account = order.credit_account
    assert account is not None  # guarded by checkout_order_kind_has_target
    transfer_id = checkout_top_up_transfer_id(order=order)
    transfer_post(
        spec=TransferSpec(
            id=transfer_id, debit_account_id=funding_account.pk, credit_account_id=account.pk, amount=order.amount,
            ledger=order.currency, code=TOP_UP_PURPOSES[account.purpose], user_data=f"card-top-up:{order.public_id}",
        ),
        accept_exists=True,
    )  # fmt: skip
    return transfer_id


@transaction.atomic
def checkout_order_pay(*, order_id: int, funding_account: Account) -> CheckoutOrder:
    """Marks an order paid and issues its code (or credits the wallet of a top-up), crediting the amount from
    `funding_account` (card clearing or bank).

    Paying a paid order again changes nothing (the purchase transfer id is derived from the order).
    """
    order = (
        CheckoutOrder.objects.select_for_update(of=("self",))
        .select_related("product", "customer", "credit_account")
        .get(pk=order_id)
    )
    if order.status == CheckoutOrderStatus.PAID:
        return order
    if order.status != CheckoutOrderStatus.AWAITING_PAYMENT:
        raise ConflictError(f"The order is {order.status}.", code=f"order_{order.status}")
    if order.kind == CheckoutOrderKind.WALLET_TOP_UP:
        transfer_id = _top_up_book(order=order, funding_account=funding_account)
        CheckoutOrder.objects.filter(pk=order.pk).update(
            status=CheckoutOrderStatus.PAID, purchase_transfer_id=transfer_id, paid_at=timezone.now()
        )
        order.refresh_from_db()
        logger.info("top-up order %s paid through %s", order.public_id, order.provider)
        return order
    assert order.product is not None  # guarded by checkout_order_kind_has_target
    transfer_id = qr_transfer_id(purpose=f"purchase:{order.public_id}")
    code = qr_code_issue(
        owner=order.customer,
        product=order.product,
        amount=order.amount,
        currency=order.currency,
        funding_account=funding_account,
        transfer_id=transfer_id,
    )
    CheckoutOrder.objects.filter(pk=order.pk).update(
        status=CheckoutOrderStatus.PAID, code=code, purchase_transfer_id=transfer_id, paid_at=timezone.now()
    )
    order.refresh_from_db()
    logger.info("order %s paid through %s; code %s issued", order.public_id, order.provider, code.short_id)
    return order


@transaction.atomic
def checkout_order_decline(*, order_id: int) -> CheckoutOrder:
    """Marks an unpaid order declined (the card was refused); a paid order stays paid."""
    order = CheckoutOrder.objects.select_for_update().get(pk=order_id)
    if order.status == CheckoutOrderStatus.AWAITING_PAYMENT:
        CheckoutOrder.objects.filter(pk=order.pk).update(status=CheckoutOrderStatus.DECLINED)
        order.refresh_from_db()
    return order
