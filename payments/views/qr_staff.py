"""Dealer and back-office pages of QR payment codes: redeem, capture/void/refund, invoices, statements, bank import."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import DealerOrganisation
from accounts.permissions import role_required
from accounts.roles import Role
from core.confirmation import confirmation_page
from core.errors import ApplicationError
from core.idempotency import idempotent_form_run
from core.money import Money
from payments.checkout.sepa import bank_statement_entry_resolve, bank_statement_import
from payments.forms import (
    AmountForm,
    InvoiceCreateForm,
    RedeemForm,
    ReviewResolveForm,
    StatementImportForm,
    minor_units,
)
from payments.models import QrRedemptionStatus
from payments.qr import images
from payments.qr.invoices import dealer_invoice_create
from payments.qr.redemptions import (
    RedemptionRequest,
    qr_redemption_authorize,
    qr_redemption_capture,
    qr_redemption_refund,
    qr_redemption_void,
)
from payments.qr.selectors import (
    bank_review_entry_get,
    bank_review_queue,
    dealer_invoice_get_for_dealer,
    dealer_invoice_list_for_dealer,
    qr_redemption_get_for_user,
    qr_redemption_list_for_dealer,
)
from payments.qr.statements import back_office_statement, dealer_statement, ledger_lines_csv
from payments.qr.tokens import qr_svg
from payments.statements import statement_csv
from payments.views.qr_common import (
    csv_response,
    form_error,
    in_reader_zone,
    is_photo_error,
    photo_error_status,
    statement_in_reader_zone,
    with_retry_after,
)


def _organisation(request: HttpRequest) -> DealerOrganisation:
    if request.user.dealer_organisation_id is None:
        raise PermissionDenied
    return request.user.dealer_organisation


def _redeem_once(request: HttpRequest, *, redemption_request: RedemptionRequest) -> str:
    """Authorizes under the form's one-time key (core.idempotency): a resubmitted form finds the first redemption."""
    outcome = idempotent_form_run(
        request,
        operation="payments.qr_redemption_authorize",
        key=redemption_request.idempotency_key,
        payload=[redemption_request.token, redemption_request.amount, redemption_request.reference],
        action=lambda: {"id": str(qr_redemption_authorize(user=request.user, request=redemption_request).public_id)},
    )
    return outcome.body["id"]


@role_required(Role.DEALER)
@require_http_methods(["GET", "POST"])
def qr_dealer_redeem_view(request: HttpRequest) -> HttpResponse:
    """Read a code (pasted text, camera, or a photo decoded on the server) and authorize an amount on it."""
    organisation = _organisation(request)
    form = RedeemForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            photo = data.get("photo")
            token = images.qr_photo_decode_for_user(user_id=request.user.pk, photo=photo) if photo else data["token"]
            redemption_request = RedemptionRequest(
                token=token, amount=minor_units(data["amount"]), currency="EUR",
                idempotency_key=data["idempotency_key"],
                reference=data.get("reference") or "",
            )  # fmt: skip
            redemption_id = _redeem_once(request, redemption_request=redemption_request)
        except ApplicationError as error:
            form_error(form, error, field="photo" if is_photo_error(error) else None)
            status = photo_error_status(error)
        else:
            redemption = qr_redemption_get_for_user(user=request.user, public_id=redemption_id)
            messages.success(
                request,
                gettext("%(amount)s authorized.") % {"amount": Money(redemption.amount, redemption.currency).format()},
            )
            return redirect("payments:qr-dealer-redemption-detail", redemption.public_id)
    context = {"form": form, "organisation": organisation}
    return with_retry_after(render(request, "payments/qr/dealer_redeem.html", context, status=status))


@role_required(Role.DEALER)
def qr_dealer_redemption_list_view(request: HttpRequest) -> HttpResponse:
    _organisation(request)
    return render(
        request,
        "payments/qr/dealer_redemption_list.html",
        {"redemptions": qr_redemption_list_for_dealer(user=request.user)},
    )


@role_required(Role.DEALER)
def qr_dealer_redemption_detail_view(request: HttpRequest, redemption_id: str) -> HttpResponse:
    redemption = qr_redemption_get_for_user(user=request.user, public_id=redemption_id)
    context = {
        "redemption": redemption,
        "capture_form": AmountForm(
            initial={"amount": Money(redemption.amount, redemption.currency).to_decimal()}, prefix="capture"
        ),
        "refund_form": AmountForm(prefix="refund"),
        "void_form": AmountForm(prefix="void"),
        "is_authorized": redemption.status == QrRedemptionStatus.AUTHORIZED,
        "is_captured": redemption.status == QrRedemptionStatus.CAPTURED,
    }
    return render(request, "payments/qr/dealer_redemption_detail.html", context)


# Void and refund give money back and cannot be taken back: each asks once more (core.confirmation).
_CONFIRMATIONS = {
    "void": (
        gettext_lazy("Void this redemption?"),
        gettext_lazy("The reserved amount goes back to the customer's code and you will not receive it."),
        gettext_lazy("Yes, void it"),
    ),
    "refund": (
        gettext_lazy("Refund %(amount)s?"),
        gettext_lazy("%(amount)s go back to the customer's code and are taken from your next payout."),
        gettext_lazy("Yes, refund"),
    ),
}


def _redemption_action(request: HttpRequest, redemption_id: str, action: str) -> HttpResponse:
    """Capture, void or refund from the detail page, each under the form's one-time key (a resubmission books once)."""
    redemption = qr_redemption_get_for_user(user=request.user, public_id=redemption_id)
    form = AmountForm(request.POST, prefix=action)
    if action != "void" and not form.is_valid():
        messages.error(request, gettext("Enter an amount."))
        return redirect("payments:qr-dealer-redemption-detail", redemption.public_id)
    amount = minor_units(form.cleaned_data["amount"]) if action != "void" else 0
    if action in _CONFIRMATIONS:
        title, consequence, label = _CONFIRMATIONS[action]
        shown = {"amount": Money(amount, redemption.currency).format()}
        page = confirmation_page(
            request,
            title=str(title) % shown,
            consequence=str(consequence) % shown,
            action_label=str(label),
            back_url=reverse("payments:qr-dealer-redemption-detail", args=[redemption.public_id]),
        )
        if page is not None:
            return page
    books = {
        "capture": lambda: qr_redemption_capture(redemption_id=redemption.pk, amount=amount),
        "void": lambda: qr_redemption_void(redemption_id=redemption.pk),
        "refund": lambda: qr_redemption_refund(redemption_id=redemption.pk, user=request.user, amount=amount),
    }
    try:
        idempotent_form_run(
            request,
            operation=f"payments.qr_redemption_{action}",
            key=request.POST.get(f"{action}-idempotency_key"),
            payload={"amount": amount},
            action=lambda: {"amount": amount} if books[action]() else {},
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        done = {"capture": gettext("Captured."), "void": gettext("Voided."), "refund": gettext("Refunded.")}
        messages.success(request, done[action])
    return redirect("payments:qr-dealer-redemption-detail", redemption.public_id)


@role_required(Role.DEALER)
@require_POST
def qr_dealer_redemption_capture_view(request: HttpRequest, redemption_id: str) -> HttpResponse:
    return _redemption_action(request, redemption_id, "capture")


@role_required(Role.DEALER)
@require_POST
def qr_dealer_redemption_void_view(request: HttpRequest, redemption_id: str) -> HttpResponse:
    return _redemption_action(request, redemption_id, "void")


@role_required(Role.DEALER)
@require_POST
def qr_dealer_redemption_refund_view(request: HttpRequest, redemption_id: str) -> HttpResponse:
    return _redemption_action(request, redemption_id, "refund")


@role_required(Role.DEALER)
@require_http_methods(["GET", "POST"])
def qr_dealer_invoice_list_view(request: HttpRequest) -> HttpResponse:
    organisation = _organisation(request)
    form = InvoiceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invoice = dealer_invoice_create(
            user=request.user, organisation=organisation, amount=minor_units(form.cleaned_data["amount"]),
            description=form.cleaned_data["description"],
        )  # fmt: skip
        return redirect("payments:qr-dealer-invoice-detail", invoice.public_id)
    context = {"form": form, "invoices": dealer_invoice_list_for_dealer(user=request.user)}
    return render(request, "payments/qr/dealer_invoice_list.html", context)


@role_required(Role.DEALER)
def qr_dealer_invoice_detail_view(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = dealer_invoice_get_for_dealer(user=request.user, public_id=invoice_id)
    return render(
        request, "payments/qr/dealer_invoice_detail.html", {"invoice": invoice, "qr_svg": qr_svg(text=invoice.payload)}
    )


@role_required(Role.DEALER)
def qr_dealer_statement_view(request: HttpRequest) -> HttpResponse:
    statement = dealer_statement(organisation=_organisation(request))
    return render(request, "payments/qr/dealer_statement.html", {"statement": statement})


@role_required(Role.DEALER)
def qr_dealer_statement_csv_view(request: HttpRequest) -> HttpResponse:
    statement = dealer_statement(organisation=_organisation(request))
    return csv_response(statement_csv(statement=statement_in_reader_zone(statement)), filename="dealer-statement.csv")


@role_required(Role.BACK_OFFICE)
def qr_back_office_statement_view(request: HttpRequest) -> HttpResponse:
    return render(request, "payments/qr/back_office_statement.html", {"lines": back_office_statement(limit=500)})


@role_required(Role.BACK_OFFICE)
def qr_back_office_statement_csv_view(request: HttpRequest) -> HttpResponse:
    return csv_response(ledger_lines_csv(lines=in_reader_zone(back_office_statement())), filename="qr-ledger.csv")


@role_required(Role.BACK_OFFICE)
@require_http_methods(["GET", "POST"])
def qr_bank_statement_import_view(request: HttpRequest) -> HttpResponse:
    form = StatementImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = bank_statement_import(
                data=form.cleaned_data["statement"].read(2 * 1024 * 1024 + 1), user=request.user
            )
        except ApplicationError as error:
            form_error(form, error, field="statement")
        else:
            messages.success(
                request,
                f"Imported: {result.matched} matched, {result.to_review} to review, {result.duplicates} seen before.",
            )
            return redirect("payments:qr-bank-review-queue")
    return render(request, "payments/qr/bank_statement_import.html", {"form": form})


@role_required(Role.BACK_OFFICE)
def qr_bank_review_queue_view(request: HttpRequest) -> HttpResponse:
    context = {"entries": bank_review_queue(), "form": ReviewResolveForm()}
    return render(request, "payments/qr/bank_review_queue.html", context)


@role_required(Role.BACK_OFFICE)
@require_POST
def qr_bank_review_resolve_view(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = bank_review_entry_get(entry_id=entry_id)
    form = ReviewResolveForm(request.POST)
    if form.is_valid():
        bank_statement_entry_resolve(entry_id=entry.pk, user=request.user, note=form.cleaned_data["note"])
        messages.success(request, gettext("Entry %(reference)s resolved.") % {"reference": entry.entry_reference})
    else:
        messages.error(request, gettext("Say what was done."))
    return redirect("payments:qr-bank-review-queue")
