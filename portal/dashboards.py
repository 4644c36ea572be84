"""What each role's dashboard shows: a few panels, each a title, a figure or text, and a link to the work.

The portal is the project, so it may read every app's selectors; the apps never import it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role


@dataclass(frozen=True)
class Panel:
    title: str
    text: str = ""
    figure: str = ""
    href: str = ""
    link_label: str = ""


def _customer_panels(user: User) -> list[Panel]:
    from leasing.selectors import contract_list_for_user
    from machines.selectors import vehicle_list_for_user

    return [
        Panel(
            "QR payment codes",
            text="Prepaid value for workshop visits, charging, parking and accessories.",
            href=reverse("payments:qr-code-list"),
            link_label="My codes",
        ),
        Panel(
            "Buy a code",
            text="Pay by card or SEPA transfer; the code is yours at once.",
            href=reverse("payments:qr-product-list"),
            link_label="Shop",
        ),
        Panel(
            "My leases",
            figure=str(contract_list_for_user(user=user).count()),
            href=reverse("leasing:contract-list"),
            link_label="Leases and applications",
        ),
        Panel(
            "My credential wallet",
            text="Identity and credit credentials stay in your browser, encrypted.",
            href=reverse("identity:wallet"),
            link_label="Open the wallet",
        ),
        Panel(
            "My vehicles",
            figure=str(vehicle_list_for_user(user=user).count()),
            href=reverse("machines:home"),
            link_label="Vehicles, sessions and invoices",
        ),
    ]


def _dealer_panels(user: User) -> list[Panel]:
    from leasing.selectors import contract_list_for_user
    from machines.selectors import station_live_list_for_user

    stations = station_live_list_for_user(user=user)
    connected = sum(1 for station in stations if station.is_connected)
    return [
        Panel(
            "Redeem a code",
            text="Scan, upload or paste a customer's QR code to authorise a payment.",
            href=reverse("payments:qr-dealer-redeem"),
            link_label="Redeem",
        ),
        Panel(
            "Credit checks",
            text="Ask a customer to present a credit credential; you see the verdict only.",
            href=reverse("credit_checks:credit-check-list"),
            link_label="Credit checks",
        ),
        Panel("Redemptions and payouts", href=reverse("payments:qr-dealer-statement"), link_label="Statement"),
        Panel(
            "Leases originated",
            figure=str(contract_list_for_user(user=user).count()),
            href=reverse("leasing:contract-list"),
            link_label="Contracts",
        ),
        Panel(
            "Stations live",
            figure=f"{connected} of {len(stations)} connected",
            href=reverse("machines:station-live"),
            link_label="Live view",
        ),
    ]


def _back_office_panels() -> list[Panel]:
    from credit_checks.selectors import credit_check_review_queue
    from identity.selectors import anchoring_overview
    from leasing.selectors import arrears_bucket_counts, back_office_queue_counts
    from payments.settlement.selectors import settlement_backlog_summary

    backlog = settlement_backlog_summary()
    anchoring = anchoring_overview()
    waiting = sum(back_office_queue_counts().values())
    in_arrears = sum(contracts for _, contracts, _ in arrears_bucket_counts(on=timezone.localdate()))
    return [
        Panel(
            "Settlement",
            figure=f"{backlog.items_due:,} due",
            text=f"{backlog.batches_open} open and {backlog.batches_closed:,} closed batches.",
            href=reverse("payments:settlement-batch-list"),
            link_label="Settlement batches",
        ),
        Panel(
            "Ledger",
            text="Debits and credits per currency, pending totals and the outbox backlog.",
            href=reverse("payments:ledger-reconciliation"),
            link_label="Reconciliation report",
        ),
        Panel(
            "Accounts and transfers",
            text="Statements with running balances; search transfers by id, account, code or date.",
            href=reverse("payments:ledger-transfer-search"),
            link_label="Search transfers",
        ),
        Panel(
            "Applications waiting",
            figure=str(waiting),
            href=reverse("leasing:application-list"),
            link_label="Lease applications",
        ),
        Panel(
            "Credit checks to review",
            figure=str(credit_check_review_queue().count()),
            text="Referred and contested decisions need a person.",
            href=reverse("credit_checks:credit-check-review-list"),
            link_label="Review queue",
        ),
        Panel("Arrears", figure=f"{in_arrears} contracts", href=reverse("leasing:arrears"), link_label="Arrears"),
        Panel(
            "Tangle anchoring",
            figure=f"{anchoring.pending_leaves:,} waiting",
            text=f"{anchoring.anchored_leaves:,} hashes anchored.",
            href=reverse("identity:credentials"),
            link_label="Credentials and anchors",
        ),
        Panel(
            "Trust registry",
            text="Credit bureaus and KYC providers whose credentials the portal accepts.",
            href=reverse("identity:issuer-list"),
            link_label="Issuers",
        ),
        Panel(
            "Bank statements",
            text="Import CAMT.053 statements; review partial and unknown payments.",
            href=reverse("payments:qr-bank-review-queue"),
            link_label="Review queue",
        ),
    ]


def dashboard_context(*, user: User) -> dict[str, Any]:
    context: dict[str, Any] = {"role": user.role, "panels": []}
    if user.role == Role.CUSTOMER:
        context["panels"] = _customer_panels(user)
    elif user.role == Role.DEALER:
        context["organisation"] = user.dealer_organisation
        context["panels"] = _dealer_panels(user)
    elif user.role == Role.BACK_OFFICE:
        context["panels"] = _back_office_panels()
    return context
