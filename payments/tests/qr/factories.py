"""Builders for QR code tests: products, paid codes, and a snapshot of every table a refusal must leave alone."""

from __future__ import annotations

import itertools
from typing import Any

from accounts.models import User
from payments.checkout.services import checkout_order_create, checkout_order_pay
from payments.ledger.client import house_account_get_or_open
from payments.ledger.registry import Purpose
from payments.models import (
    Account,
    BankStatementEntry,
    CheckoutOrder,
    CheckoutProvider,
    DealerInvoice,
    OutboxMessage,
    QrCode,
    QrProduct,
    QrRedemption,
    QrRefund,
    SettlementItem,
    Transfer,
    WebhookEvent,
)
from payments.qr.services import qr_product_create

_numbers = itertools.count(1)


def product_create(*, fixed_amount: int | None = None, currency: str = "EUR", **extra: Any) -> QrProduct:
    """A product with a fixed value, or (default) a value from 10.00 to 500.00 of `currency`."""
    number = next(_numbers)
    limits = {"fixed_amount": fixed_amount} if fixed_amount else {"min_amount": 1_000, "max_amount": 50_000}
    return qr_product_create(
        slug=f"service-credit-{number}", name=f"Service credit {number}", currency=currency, **limits, **extra
    )


def paid_code_create(*, owner: User, amount: int = 5_000, product: QrProduct | None = None) -> QrCode:
    """A code bought by card for `amount` minor units, paid through the checkout service like a webhook would."""
    product = product or product_create()
    order, _ = checkout_order_create(
        customer=owner, product=product, amount=amount, provider=CheckoutProvider.CARD_SANDBOX
    )
    order = checkout_order_pay(
        order_id=order.pk,
        funding_account=house_account_get_or_open(ledger=product.currency, purpose=Purpose.QR_CARD_ACQUIRER_CLEARING),
    )
    return order.code


def account_balance(account_id: int) -> tuple[int, int, int, int]:
    account = Account.objects.get(pk=account_id)
    return (account.debits_pending, account.debits_posted, account.credits_pending, account.credits_posted)


def database_snapshot() -> dict[str, object]:
    """Row counts of every QR, checkout and ledger table plus every account's four sums."""
    counts = {
        model.__name__: model.objects.count()
        for model in (
            Transfer, QrCode, QrRedemption, QrRefund, CheckoutOrder, WebhookEvent, BankStatementEntry,
            DealerInvoice, OutboxMessage, SettlementItem, Account,
        )
    }  # fmt: skip
    sums = list(
        Account.objects.order_by("id").values_list(
            "id", "debits_pending", "debits_posted", "credits_pending", "credits_posted"
        )
    )
    statuses = list(QrCode.objects.order_by("id").values_list("id", "status", "version"))
    return {"counts": counts, "sums": sums, "codes": statuses}
