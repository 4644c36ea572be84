"""Template context shared by every page: the navigation for the current user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role

_LINKS: dict[Role | None, list[tuple[Any, str]]] = {
    None: [(_("Lease calculator"), "leasing:quote-calculator")],
    Role.CUSTOMER: [
        (_("Shop"), "payments:qr-product-list"),
        (_("My codes"), "payments:qr-code-list"),
        (_("Lease calculator"), "leasing:quote-calculator"),
        (_("Applications"), "leasing:application-list"),
        (_("Leasing"), "leasing:contract-list"),
        (_("Wallet"), "identity:wallet"),
        (_("Payment history"), "credit_checks:payment-history"),
        (_("Vehicles"), "machines:home"),
    ],
    Role.DEALER: [
        (_("Redeem"), "payments:qr-dealer-redeem"),
        (_("Applications"), "leasing:application-list"),
        (_("Credit checks"), "credit_checks:credit-check-list"),
        (_("Statement"), "payments:qr-dealer-statement"),
        (_("Lease payouts"), "leasing:dealer-lease-payouts"),
        (_("Leases"), "leasing:contract-list"),
        (_("Stations"), "machines:station-live"),
        (_("API docs"), "api-docs"),
    ],
    Role.BACK_OFFICE: [
        (_("Ledger"), "payments:ledger-reconciliation"),
        (_("Settlement"), "payments:settlement-batch-list"),
        (_("Applications"), "leasing:application-list"),
        (_("Contracts"), "leasing:contract-list"),
        (_("Customers"), "portal:customer-search"),
        (_("Products"), "leasing:product-list"),
        (_("Direct debits"), "leasing:direct-debits"),
        (_("Trust registry"), "identity:issuer-list"),
        (_("Machines"), "machines:home"),
        (_("API docs"), "api-docs"),
    ],
}


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    links = [(_("Home"), reverse("portal:home"))] + [(label, reverse(name)) for label, name in _LINKS.get(role, [])]
    if role == Role.BACK_OFFICE and user.has_perm("accounts.manage_staff"):
        links.append((_("Staff"), reverse("accounts:staff-list")))
    return {"nav_links": links, "nav_role": role, "nav_role_label": Role(role).label if role else ""}
