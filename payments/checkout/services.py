"""Writes of checkout: placing an order, and paying it (which issues the customer's QR code with its balance)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import ConflictError, ValidationFailed
from payments.checkout.providers import CheckoutStart, payment_provider_get, payment_provider_is_offered
from payments.codes.epc import rf_reference_create
from payments.models import (
    Account,
    CheckoutOrder,
    CheckoutOrderStatus,
    CheckoutProvider,
    QrProduct,
)
from payments.notifications import order_paid_notify
from payments.qr.services import qr_code_issue, qr_transfer_id

logger = logging.getLogger(__name__)


def checkout_amount_validate(*, product: QrProduct, amount: int | None) -> int:
    """The order amount in minor units: the fixed value, or the customer's choice within the product's limits."""
    if product.fixed_amount is not None:
        if amount not in (None, product.fixed_amount):
            raise ValidationFailed(gettext_lazy("This product has a fixed value."), code="amount_not_allowed")
        return product.fixed_amount
    if amount is None or not product.min_amount <= amount <= product.max_amount:  # type: ignore[operator]
        raise ValidationFailed(gettext_lazy("Choose a value within the product's limits."), code="amount_out_of_range")
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
def checkout_order_pay(*, order_id: int, funding_account: Account) -> CheckoutOrder:
    """Marks an order paid and issues its code, crediting the amount from `funding_account` (card clearing or bank).

    Paying a paid order again changes nothing (the purchase transfer id is derived from the order).
    """
    order = CheckoutOrder.objects.select_for_update().select_related("product", "customer").get(pk=order_id)
    if order.status == CheckoutOrderStatus.PAID:
        return order
    if order.status != CheckoutOrderStatus.AWAITING_PAYMENT:
        raise ConflictError(f"The order is {order.status}.", code=f"order_{order.status}")
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
    order_paid_notify(order=order, code=code)
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
