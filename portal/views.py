"""Site pages: the public landing page and each role's dashboard at `/`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import Role
from portal.dashboards import dashboard_context


def home(request: HttpRequest) -> HttpResponse:
    """Anonymous visitors see what the portal offers; a logged-in user lands on the dashboard of their role."""
    user = request.user
    if not user.is_authenticated or user.role is None:
        return render(request, "portal/landing.html", {})
    templates = {
        Role.CUSTOMER: "portal/dashboard_customer.html",
        Role.DEALER: "portal/dashboard_dealer.html",
        Role.BACK_OFFICE: "portal/dashboard_back_office.html",
    }
    return render(request, templates[user.role], dashboard_context(user=user))
