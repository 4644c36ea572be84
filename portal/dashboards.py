"""What each role's dashboard shows: a few panels, each a title, a figure or text, and a link to the work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from accounts.models import User
from accounts.roles import Role


@dataclass(frozen=True)
class Panel:
    title: str
    text: str = ""
    figure: str = ""
    href: str = ""
    link_label: str = ""


def _back_office_panels() -> list[Panel]:
    from payments.settlement.selectors import settlement_backlog_summary

    backlog = settlement_backlog_summary()
    return [
        Panel(
            title="Settlement",
            figure=f"{backlog.items_due:,} due",
            text=f"{backlog.batches_open} open and {backlog.batches_closed:,} closed batches.",
            href=reverse("payments:settlement-batch-list"),
            link_label="Settlement batches",
        ),
        Panel(
            title="Ledger",
            text="Debits and credits per currency, pending totals and the outbox backlog.",
            href=reverse("payments:ledger-reconciliation"),
            link_label="Reconciliation report",
        ),
        Panel(
            title="Accounts and transfers",
            text="Statements with running balances; search transfers by id, account, code or date.",
            href=reverse("payments:ledger-transfer-search"),
            link_label="Search transfers",
        ),
    ]


def dashboard_context(*, user: User) -> dict[str, Any]:
    context: dict[str, Any] = {"role": user.role, "panels": []}
    if user.role == Role.DEALER:
        context["organisation"] = user.dealer_organisation
    elif user.role == Role.BACK_OFFICE:
        context["panels"] = _back_office_panels()
    return context
