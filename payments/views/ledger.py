"""Back-office ledger pages: accounts, an account's statement with running balance, transfer search, reconciliation."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import role_required
from accounts.roles import Role
from payments.ledger import selectors
from payments.models import AccountCode

PAGE_SIZE = 100


def _query_prefix(request: HttpRequest) -> str:
    """The current filters as a query string ending in "&", so pagination links keep them."""
    query = request.GET.copy()
    query.pop("page", None)
    return f"{query.urlencode()}&" if query else ""


class AccountFilterForm(forms.Form):
    ledger = forms.CharField(required=False, max_length=3, label="Currency")
    code = forms.TypedChoiceField(
        required=False, choices=[("", "Any"), *AccountCode.choices], coerce=int, empty_value=None, label="Account kind"
    )
    owner_reference = forms.CharField(required=False, max_length=64, label="Owner reference")


class TransferSearchForm(forms.Form):
    transfer_id = forms.UUIDField(required=False, label="Transfer id")
    account_id = forms.IntegerField(required=False, min_value=1, label="Account")
    code = forms.IntegerField(required=False, min_value=1, label="Reason code")
    created_from = forms.DateTimeField(required=False, label="Created from")
    created_to = forms.DateTimeField(required=False, label="Created before")


@require_GET
@role_required(Role.BACK_OFFICE)
def account_list_view(request: HttpRequest) -> HttpResponse:
    form = AccountFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    accounts = selectors.account_list(
        ledger=filters.get("ledger", ""), code=filters.get("code"), owner_reference=filters.get("owner_reference", "")
    )
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/ledger/account_list.html",
        {"form": form, "page": page, "query_prefix": _query_prefix(request)},
    )


@require_GET
@role_required(Role.BACK_OFFICE)
def account_statement_view(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get(account_id=account_id)
    page = Paginator(selectors.account_transfers(account=account), PAGE_SIZE).get_page(request.GET.get("page"))
    entries = selectors.account_statement(account=account, transfers=list(page.object_list))
    context = {"account": account, "page": page, "entries": entries}
    return render(request, "payments/ledger/account_statement.html", context)


@require_GET
@role_required(Role.BACK_OFFICE)
def transfer_search_view(request: HttpRequest) -> HttpResponse:
    form = TransferSearchForm(request.GET or None)
    page = None
    if form.is_bound and form.is_valid():
        transfers = selectors.transfer_search(**form.cleaned_data)
        page = Paginator(transfers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/ledger/transfer_search.html",
        {"form": form, "page": page, "query_prefix": _query_prefix(request)},
    )


@require_GET
@role_required(Role.BACK_OFFICE)
def reconciliation_view(request: HttpRequest) -> HttpResponse:
    from payments.settlement.selectors import settlement_backlog_summary

    context = {"ledgers": selectors.reconciliation_report(), "backlog": settlement_backlog_summary()}
    return render(request, "payments/ledger/reconciliation.html", context)
