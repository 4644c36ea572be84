"""The public quote calculator, the stored quote with its chart and PDF, and applying for a quote."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from accounts.models import DealerOrganisation
from accounts.permissions import role_required
from accounts.roles import Role
from core.errors import ApplicationError
from core.money import Money
from leasing import rendering, selectors
from leasing.forms import ApplyForm, QuoteForm
from leasing.services.applications import application_from_quote
from leasing.services.quotes import QuoteInput, quote_create
from leasing.views.common import form_error_apply, pdf_response


@require_http_methods(["GET", "POST"])
def quote_calculator(request: HttpRequest) -> HttpResponse:
    """Anyone may price a lease; a valid form stores the quote and shows it."""
    products = selectors.product_list_active()
    form = QuoteForm(request.POST or None, products=products)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            quote = quote_create(
                data=QuoteInput(
                    product_code=data["product"].code,
                    price=data["price"],
                    down_payment=data["down_payment"] or 0,
                    term_months=data["term_months"],
                    yearly_km=data["yearly_km"],
                    residual_value=data["residual_value"],
                    timing=data["timing"],
                    start_date=data["start_date"],
                    service_package_codes=form.service_package_codes(),
                ),
                created_by=request.user,
            )
        except ApplicationError as error:
            form_error_apply(form=form, error=error)
        else:
            return redirect("leasing:quote-detail", public_id=quote.public_id)
    status = 400 if form.errors else 200
    return render(request, "leasing/quote_calculator.html", {"form": form, "products": products}, status=status)


def _organisations():
    return DealerOrganisation.objects.order_by("name")


def _quote_context(*, quote, apply_form: ApplyForm) -> dict:
    return {
        "quote": quote,
        "facts": rendering.quote_facts(quote=quote),
        "monthly_total": Money(quote.monthly_total, quote.currency).format(),
        # Built by leasing.charts from numbers only; its one text label is escaped there.
        "chart_svg": mark_safe(rendering.quote_chart_svg(quote=quote)),  # noqa: S308
        "apply_form": apply_form,
    }


def quote_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    quote = selectors.quote_get_public(public_id=public_id)
    context = _quote_context(quote=quote, apply_form=ApplyForm(organisations=_organisations()))
    return render(request, "leasing/quote_detail.html", context)


def quote_pdf(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    quote = selectors.quote_get_public(public_id=public_id)
    return pdf_response(content=rendering.quote_pdf_render(quote=quote), filename=f"quote-{quote.public_id}.pdf")


@require_http_methods(["POST"])
@role_required(Role.CUSTOMER)
def application_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The customer applies for a quote; the credit check is requested and the application waits for it."""
    quote = selectors.quote_get_public(public_id=public_id)
    form = ApplyForm(request.POST, organisations=_organisations())
    if form.is_valid():
        try:
            with transaction.atomic():
                application = application_from_quote(
                    customer=request.user, quote=quote, dealer_organisation=form.cleaned_data["dealer_organisation"]
                )
        except ApplicationError as error:
            form_error_apply(form=form, error=error)
        else:
            return redirect("leasing:application-detail", application_id=application.pk)
    context = _quote_context(quote=quote, apply_form=form)
    return render(request, "leasing/quote_detail.html", context, status=400)
