"""The e-mail machines sends vehicle owners: a charging invoice issued (optional; the invoice stays on the portal).
Registered with accounts' notifications at start-up (MachinesConfig.ready)."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext_lazy

from accounts.notifications import (
    NotificationKind,
    decimal,
    link,
    moment,
    money,
    notification_kind_register,
    notification_queue,
)
from core.money import Money
from machines.models import ChargingInvoice, ChargingSession

CHARGING_INVOICE_ISSUED = "machines.charging_invoice_issued"


def notification_kinds_register() -> None:
    notification_kind_register(
        NotificationKind(
            code=CHARGING_INVOICE_ISSUED,
            label=gettext_lazy("A charging invoice was issued"),
            description=gettext_lazy("The energy and amount of each charging session your vehicles paid for."),
            template="machines/email/notifications/charging_invoice_issued",
            is_optional=True,
        )
    )


def charging_invoice_issued_notify(*, invoice: ChargingInvoice, session: ChargingSession) -> None:
    """Queues the invoice e-mail to the vehicle's owner; call inside the transaction that writes the invoice."""
    notification_queue(
        kind=CHARGING_INVOICE_ISSUED,
        user_id=session.vehicle.owner_id,
        event_key=f"charging_invoice:{invoice.pk}",
        context={
            "vehicle": session.vehicle.name,
            "station": session.station.name,
            "energy_kwh": decimal(Decimal(invoice.energy_wh) / 1000, places=2),
            "amount": money(Money(invoice.charged_amount, invoice.currency)),
            "ended_at": moment(session.ended_at),
            "invoice_link": link(reverse("machines:invoice-detail", kwargs={"invoice_id": invoice.pk})),
        },
    )
