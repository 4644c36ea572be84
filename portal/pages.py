"""Pages every visitor reaches: the terms of use and the privacy notice, and back office's customer search."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import role_required
from accounts.roles import Role
from accounts.selectors import customer_search
from core.pagination import list_page
from leasing.selectors import customer_ids_for_reference
from portal.forms import CustomerSearchForm


def terms_of_use(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/terms.html", {})


def privacy_notice(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/privacy.html", {})


@role_required(Role.BACK_OFFICE)
def customer_search_view(request: HttpRequest) -> HttpResponse:
    """Customers by e-mail, or by a reference of theirs: application number or reference, contract number."""
    form = CustomerSearchForm(request.GET or None)
    query = form.cleaned_data.get("query", "") if form.is_valid() else ""
    owners = customer_ids_for_reference(reference=query) if query else []
    context = {
        "form": form,
        "query": query,
        "listing": list_page(request, customer_search(query=query, user_ids=owners)),
    }
    return render(request, "portal/customer_search.html", context, status=400 if form.errors else 200)
