"""Template context shared by every page: the navigation for the current user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts.roles import Role

_LINKS: dict[Role | None, list[tuple[str, str]]] = {
    None: [("Lease calculator", "leasing:quote-calculator")],
    Role.CUSTOMER: [
        ("Shop", "payments:qr-product-list"),
        ("My codes", "payments:qr-code-list"),
        ("Leasing", "leasing:contract-list"),
        ("Wallet", "identity:wallet"),
        ("Payment history", "credit_checks:payment-history"),
        ("Vehicles", "machines:home"),
    ],
    Role.DEALER: [
        ("Redeem", "payments:qr-dealer-redeem"),
        ("Credit checks", "credit_checks:credit-check-list"),
        ("Statement", "payments:qr-dealer-statement"),
        ("Leases", "leasing:contract-list"),
        ("Stations", "machines:station-live"),
        ("API docs", "api-docs"),
    ],
    Role.BACK_OFFICE: [
        ("Ledger", "payments:ledger-reconciliation"),
        ("Settlement", "payments:settlement-batch-list"),
        ("Applications", "leasing:application-list"),
        ("Trust registry", "identity:issuer-list"),
        ("Machines", "machines:home"),
        ("API docs", "api-docs"),
    ],
}


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    links = [("Home", reverse("portal:home"))] + [(label, reverse(name)) for label, name in _LINKS.get(role, [])]
    return {"nav_links": links, "nav_role": role, "nav_role_label": Role(role).label if role else ""}
