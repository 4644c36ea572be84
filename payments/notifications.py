"""The e-mails payments sends its customers: an order paid (a receipt, always sent) and a code about to expire
(a reminder the customer may turn off). Registered with accounts' notifications at start-up (PaymentsConfig.ready)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from accounts.notifications import (
    NotificationKind,
    day,
    link,
    moment,
    money,
    notification_kind_register,
    notification_queue,
)
from core.money import Money
from payments.models import CheckoutOrder, QrCode, QrCodeStatus

logger = logging.getLogger(__name__)

ORDER_PAID = "payments.order_paid"
CODE_EXPIRING = "payments.code_expiring"
# Codes with money left are reminded once, this many days before they expire.
CODE_EXPIRY_REMINDER_DAYS = 30


def notification_kinds_register() -> None:
    notification_kind_register(
        NotificationKind(
            code=ORDER_PAID,
            label=gettext_lazy("Payment received for a QR code order"),
            description=gettext_lazy("Your receipt, with the code that was issued."),
            template="payments/email/notifications/order_paid",
            is_optional=False,
        )
    )
    notification_kind_register(
        NotificationKind(
            code=CODE_EXPIRING,
            label=gettext_lazy("A QR code is about to expire"),
            description=format_lazy(
                gettext_lazy("A reminder {days} days before a code with money left on it expires."),
                days=CODE_EXPIRY_REMINDER_DAYS,
            ),
            template="payments/email/notifications/code_expiring",
            is_optional=True,
        )
    )


def order_paid_notify(*, order: CheckoutOrder, code: QrCode) -> None:
    """Queues the receipt of a paid order; call inside the transaction that marks it paid."""
    notification_queue(
        kind=ORDER_PAID,
        user_id=order.customer_id,
        event_key=f"order:{order.public_id}",
        context={
            "product": order.product.name,
            "amount": money(Money(order.amount, order.currency)),
            "paid_at": moment(order.paid_at or timezone.now()),
            "code": code.short_id,
            "expires_on": day(timezone.localdate(code.expires_at)),
            "code_link": link(reverse("payments:qr-code-detail", kwargs={"code_id": code.public_id})),
        },
    )


def code_expiry_reminders_queue(*, now: dt.datetime | None = None) -> int:
    """Queues a reminder for every active code with money left that expires within CODE_EXPIRY_REMINDER_DAYS
    (beat, daily); returns how many codes it looked at. Each code's reminder is keyed by its expiry, so running this
    again, or every day of those 30, queues and sends it once."""
    now = now or timezone.now()
    codes = (
        QrCode.objects.filter(
            status=QrCodeStatus.ACTIVE,
            expires_at__gt=now,
            expires_at__lte=now + dt.timedelta(days=CODE_EXPIRY_REMINDER_DAYS),
        )
        .select_related("account", "product")
        .order_by("expires_at", "id")
    )
    seen = 0
    for code in codes:
        balance = code.account.credits_posted - code.account.debits_posted - code.account.debits_pending
        if balance <= 0:
            continue
        seen += 1
        with transaction.atomic():
            notification_queue(
                kind=CODE_EXPIRING,
                user_id=code.owner_id,
                event_key=f"code:{code.public_id}:expires:{code.expires_at.date().isoformat()}",
                context={
                    "product": code.product.name,
                    "code": code.short_id,
                    "balance": money(Money(balance, code.currency)),
                    "expires_at": moment(code.expires_at),
                    "code_link": link(reverse("payments:qr-code-detail", kwargs={"code_id": code.public_id})),
                },
            )
    logger.info("code expiry reminders: %d code(s) with money left expire soon", seen)
    return seen
