"""Back-office pages: products, decisions, contract changes, arrears, direct-debit files and returns."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods

from accounts.permissions import role_required
from accounts.roles import Role
from core.confirmation import confirmation_page
from core.errors import ApplicationError
from core.money import Money
from leasing import selectors
from leasing.forms import (
    EndOfTermForm,
    PauseForm,
    ProductForm,
    ReasonForm,
    RestructureForm,
    ReturnsImportForm,
    ServicePackageForm,
    TerminateForm,
    VerdictForm,
)
from leasing.models import DirectDebitBatch, LeaseProduct
from leasing.services import applications, arrears, changes, endings, products, sepa, sepa_returns
from leasing.views.accounts import application_page_refused, contract_page_refused
from leasing.views.common import form_error_apply

back_office = role_required(Role.BACK_OFFICE)
PRODUCT_FIELDS = [name for name in ProductForm.base_fields if name != "mileage_bands"]


@back_office
def product_list(request: HttpRequest) -> HttpResponse:
    return render(request, "leasing/staff/product_list.html", {"products": selectors.product_list()})


def _product_initial(product: LeaseProduct) -> dict:
    initial = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    for name in ("arrangement_fee", "min_price", "max_price", "excess_km_rate", "unused_km_rate"):
        initial[name] = Money(getattr(product, name), "EUR").to_decimal()
    initial["mileage_bands"] = ", ".join(
        f"{band.yearly_km}:{band.residual_percent}" for band in product.mileage_bands.all()
    )
    return initial


@require_http_methods(["GET", "POST"])
@back_office
def product_edit(request: HttpRequest, product_id: int | None = None) -> HttpResponse:
    product = selectors.product_list().filter(pk=product_id).first() if product_id else None
    if product_id and product is None:
        raise Http404("No such product.")
    form = ProductForm(request.POST or None, initial=_product_initial(product) if product else None)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in PRODUCT_FIELDS}
        try:
            products.product_save(
                data=products.ProductData(**data),
                product_id=product_id,
                yearly_km_bands=form.cleaned_data["mileage_bands"],
            )
        except ApplicationError as error:
            form_error_apply(form=form, error=error)
        else:
            messages.success(request, gettext("Product saved."))
            return redirect("leasing:product-list")
    context = {"form": form, "product": product}
    return render(request, "leasing/staff/product_form.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@back_office
def service_package_create(request: HttpRequest) -> HttpResponse:
    form = ServicePackageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            products.service_package_save(
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
                monthly_price=data["monthly_price"],
                product_ids=[product.pk for product in data["products"]],
            )
        except ApplicationError as error:
            form_error_apply(form=form, error=error)
        else:
            messages.success(request, gettext("Service package saved."))
            return redirect("leasing:product-list")
    return render(
        request, "leasing/staff/service_package_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _after(request: HttpRequest, *, ok: str, error: ApplicationError | None, target: str, **kwargs) -> HttpResponse:
    """Back-office actions report through messages and return to the object's page."""
    if error is None:
        messages.success(request, ok)
    else:
        messages.error(request, error.detail)
    return redirect(target, **kwargs)


def _run(call) -> ApplicationError | None:
    try:
        call()
    except ApplicationError as error:
        return error
    return None


@require_http_methods(["POST"])
@back_office
def application_verdict(request: HttpRequest, application_id: int) -> HttpResponse:
    application = selectors.application_get_for_user(user=request.user, application_id=application_id)
    form = VerdictForm(request.POST)
    if not form.is_valid():
        return application_page_refused(request, application, verdict_form=form)
    error = _run(
        lambda: applications.application_credit_verdict_record(
            application_id=application.pk,
            verdict=form.cleaned_data["verdict"],
            source="manual",
            reason=form.cleaned_data["reason"],
            recorded_by=request.user,
        )
    )
    return _after(
        request,
        ok=gettext("Verdict recorded."),
        error=error,
        target="leasing:application-detail",
        application_id=application.pk,
    )


def _application_decision(request: HttpRequest, application_id: int, *, decision: str) -> HttpResponse:
    """Approve or decline with a reason: the form of that name on the application page, then its service."""
    application = selectors.application_get_for_user(user=request.user, application_id=application_id)
    form = ReasonForm(request.POST, prefix=decision)
    if not form.is_valid():
        return application_page_refused(request, application, **{f"{decision}_form": form})
    reason = form.cleaned_data["reason"]
    if decision == "approve":
        error = _run(
            lambda: applications.application_approve(
                application_id=application.pk, approved_by=request.user, reason=reason
            )
        )
    else:
        page = confirmation_page(
            request,
            title=gettext("Decline application %(number)s?") % {"number": application.pk},
            consequence=gettext("The customer is told that the application is declined, with your reason: %(reason)s")
            % {"reason": reason},
            action_label=gettext("Yes, decline"),
            back_url=reverse("leasing:application-detail", args=[application.pk]),
        )
        if page is not None:
            return page
        error = _run(
            lambda: applications.application_decline(
                application_id=application.pk, declined_by=request.user, reason=reason
            )
        )
    ok = gettext("Approval recorded.") if decision == "approve" else gettext("Application declined.")
    return _after(request, ok=ok, error=error, target="leasing:application-detail", application_id=application.pk)


@require_http_methods(["POST"])
@back_office
def application_approve(request: HttpRequest, application_id: int) -> HttpResponse:
    return _application_decision(request, application_id, decision="approve")


@require_http_methods(["POST"])
@back_office
def application_decline(request: HttpRequest, application_id: int) -> HttpResponse:
    return _application_decision(request, application_id, decision="decline")


@require_http_methods(["POST"])
@back_office
def contract_pause(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    form = PauseForm(request.POST, prefix="pause")
    if not form.is_valid():
        return contract_page_refused(request, contract, pause_form=form)
    error = _run(
        lambda: arrears.contract_dunning_pause(
            contract_id=contract.pk,
            until=form.cleaned_data["until"],
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    )
    return _after(
        request,
        ok=gettext("Dunning pause saved."),
        error=error,
        target="leasing:contract-detail",
        contract_id=contract.pk,
    )


@require_http_methods(["POST"])
@back_office
def contract_terminate(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    form = TerminateForm(request.POST)
    quote = contract.payoff_quotes.filter(pk=form.data.get("payoff_quote") if form.is_valid() else None).first()
    if quote is None:
        messages.error(request, gettext("Choose one of this contract's payoff quotes."))
        return redirect("leasing:contract-detail", contract_id=contract.pk)
    page = confirmation_page(
        request,
        title=gettext("Terminate contract %(number)s early?") % {"number": contract.number},
        consequence=gettext(
            "The contract ends at the payoff quote of %(amount)s; the remaining schedule is cancelled. "
            "This cannot be undone."
        )
        % {"amount": Money(quote.amount, contract.currency).format()},
        action_label=gettext("Yes, terminate"),
        back_url=reverse("leasing:contract-detail", args=[contract.pk]),
    )
    if page is not None:
        return page
    error = _run(lambda: changes.contract_terminate_early(payoff_quote_id=quote.pk, actor=request.user))
    return _after(
        request,
        ok=gettext("Contract terminated."),
        error=error,
        target="leasing:contract-detail",
        contract_id=contract.pk,
    )


@require_http_methods(["POST"])
@back_office
def contract_end_of_term(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    form = EndOfTermForm(request.POST, prefix="end")
    if not form.is_valid():
        return contract_page_refused(request, contract, end_form=form)
    data = form.cleaned_data
    error = _run(
        lambda: endings.contract_end_of_term(
            contract_id=contract.pk,
            actor=request.user,
            driven_km=data["driven_km"],
            damage=data["damage"] or 0,
            sale_proceeds=data["sale_proceeds"],
            purchase=data["purchase"],
        )
    )
    return _after(
        request, ok=gettext("Contract settled."), error=error, target="leasing:contract-detail", contract_id=contract.pk
    )


@require_http_methods(["POST"])
@back_office
def contract_restructure(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    form = RestructureForm(request.POST, prefix="restructure")
    if not form.is_valid():
        return contract_page_refused(request, contract, restructure_form=form)
    data = form.cleaned_data
    error = _run(
        lambda: changes.contract_restructure(
            contract_id=contract.pk,
            actor=request.user,
            effective_date=data["effective_date"],
            holiday_months=data["holiday_months"],
            remaining_months=data["remaining_months"],
            reason=data["reason"],
        )
    )
    return _after(
        request,
        ok=gettext("New schedule written."),
        error=error,
        target="leasing:contract-detail",
        contract_id=contract.pk,
    )


@back_office
def arrears_dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    context = {
        "lines": selectors.arrears_overview(on=today),
        "buckets": selectors.arrears_bucket_counts(on=today),
        "today": today,
    }
    return render(request, "leasing/staff/arrears.html", context)


@require_http_methods(["GET", "POST"])
@back_office
def direct_debits(request: HttpRequest) -> HttpResponse:
    """Batches to download, the import of the bank's reject (pain.002) and return (camt.054) files, and the debits
    given back with their reasons."""
    is_upload = request.method == "POST"
    form = ReturnsImportForm(request.POST if is_upload else None, request.FILES if is_upload else None)
    if is_upload and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record = sepa_returns.returned_debits_import(
                content=upload.read(), file_name=upload.name, imported_by=request.user
            )
        except ApplicationError as error:
            form_error_apply(form=form, error=error)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d rejected or returned debit booked.",
                    "%(count)d rejected or returned debits booked.",
                    record.rows_booked,
                )
                % {"count": record.rows_booked},
            )
            return redirect("leasing:direct-debits")
    context = {
        "batches": selectors.direct_debit_batch_list(),
        "returns": selectors.returned_debit_list(),
        "form": form,
    }
    return render(request, "leasing/staff/direct_debits.html", context, status=400 if form.errors else 200)


@back_office
def direct_debit_file(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The batch's pain.008 file; downloading an open batch closes and exports it."""
    batch: DirectDebitBatch = selectors.direct_debit_batch_get(batch_id=batch_id)
    batch = sepa.direct_debit_batch_export(batch_id=batch.pk)
    response = HttpResponse(bytes(batch.file_xml), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{batch.message_id}.xml"'
    return response
