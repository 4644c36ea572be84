"""What each role's dashboard shows: a few panels, each a title, a figure or text, and a link to the work.

The portal is the project, so it may read every app's selectors; the apps never import it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.models import User
from accounts.roles import Role
from core.locale_format import format_decimal


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
            gettext("QR payment codes"),
            text=gettext("Prepaid value for workshop visits, charging, parking and accessories."),
            href=reverse("payments:qr-code-list"),
            link_label=gettext("My codes"),
        ),
        Panel(
            gettext("Buy a code"),
            text=gettext("Pay by card or SEPA transfer; the code is yours at once."),
            href=reverse("payments:qr-product-list"),
            link_label=gettext("Shop"),
        ),
        Panel(
            gettext("My leases"),
            figure=str(contract_list_for_user(user=user).count()),
            href=reverse("leasing:contract-list"),
            link_label=gettext("Leases and applications"),
        ),
        Panel(
            gettext("My credential wallet"),
            text=gettext("Identity and credit credentials stay in your browser, encrypted."),
            href=reverse("identity:wallet"),
            link_label=gettext("Open the wallet"),
        ),
        Panel(
            gettext("My vehicles"),
            figure=str(vehicle_list_for_user(user=user).count()),
            href=reverse("machines:home"),
            link_label=gettext("Vehicles, sessions and invoices"),
        ),
    ]


def _dealer_panels(user: User) -> list[Panel]:
    from leasing.selectors import contract_list_for_user
    from machines.selectors import station_live_list_for_user

    stations = station_live_list_for_user(user=user)
    connected = sum(1 for station in stations if station.is_connected)
    return [
        Panel(
            gettext("Redeem a code"),
            text=gettext("Scan, upload or paste a customer's QR code to authorise a payment."),
            href=reverse("payments:qr-dealer-redeem"),
            link_label=gettext("Redeem"),
        ),
        Panel(
            gettext("Credit checks"),
            text=gettext("Ask a customer to present a credit credential; you see the verdict only."),
            href=reverse("credit_checks:credit-check-list"),
            link_label=gettext("Credit checks"),
        ),
        Panel(
            gettext("Redemptions and payouts"),
            href=reverse("payments:qr-dealer-statement"),
            link_label=gettext("Statement"),
        ),
        Panel(
            gettext("Leases originated"),
            figure=str(contract_list_for_user(user=user).count()),
            href=reverse("leasing:contract-list"),
            link_label=gettext("Contracts"),
        ),
        Panel(
            gettext("Stations live"),
            figure=gettext("%(connected)s of %(count)s connected") % {"connected": connected, "count": len(stations)},
            href=reverse("machines:station-live"),
            link_label=gettext("Live view"),
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
            gettext("Settlement"),
            figure=gettext("%(count)s due") % {"count": format_decimal(backlog.items_due, places=0)},
            text=gettext("%(open)s open and %(closed)s closed batches.")
            % {"open": backlog.batches_open, "closed": format_decimal(backlog.batches_closed, places=0)},
            href=reverse("payments:settlement-batch-list"),
            link_label=gettext("Settlement batches"),
        ),
        Panel(
            gettext("Ledger"),
            text=gettext("Debits and credits per currency, pending totals and the outbox backlog."),
            href=reverse("payments:ledger-reconciliation"),
            link_label=gettext("Reconciliation report"),
        ),
        Panel(
            gettext("Accounts and transfers"),
            text=gettext("Statements with running balances; search transfers by id, account, code or date."),
            href=reverse("payments:ledger-transfer-search"),
            link_label=gettext("Search transfers"),
        ),
        Panel(
            gettext("Applications waiting"),
            figure=str(waiting),
            href=reverse("leasing:application-list"),
            link_label=gettext("Lease applications"),
        ),
        Panel(
            gettext("Credit checks to review"),
            figure=str(credit_check_review_queue().count()),
            text=gettext("Referred and contested decisions need a person."),
            href=reverse("credit_checks:credit-check-review-list"),
            link_label=gettext("Review queue"),
        ),
        Panel(
            gettext("Arrears"),
            figure=ngettext("%(count)s contract", "%(count)s contracts", in_arrears) % {"count": in_arrears},
            href=reverse("leasing:arrears"),
            link_label=gettext("Arrears"),
        ),
        Panel(
            gettext("Tangle anchoring"),
            figure=gettext("%(count)s waiting") % {"count": format_decimal(anchoring.pending_leaves, places=0)},
            text=gettext("%(count)s fingerprints anchored.")
            % {"count": format_decimal(anchoring.anchored_leaves, places=0)},
            href=reverse("identity:credentials"),
            link_label=gettext("Credentials and anchors"),
        ),
        Panel(
            gettext("Trust registry"),
            text=gettext("Credit bureaus and KYC providers whose credentials the portal accepts."),
            href=reverse("identity:issuer-list"),
            link_label=gettext("Issuers"),
        ),
        Panel(
            gettext("Bank statements"),
            text=gettext("Import CAMT.053 statements; review partial and unknown payments."),
            href=reverse("payments:qr-bank-review-queue"),
            link_label=gettext("Review queue"),
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
