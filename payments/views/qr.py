"""Customer pages of QR payment codes: shop, checkout (sandbox card, SEPA GiroCode), my codes, invoices, statement."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_required
from accounts.roles import Role
from core.errors import ApplicationError
from core.money import Money
from payments.checkout import sandbox
from payments.checkout.providers import payment_provider_is_offered
from payments.checkout.sepa import sepa_order_payload
from payments.checkout.services import checkout_order_create
from payments.codes.epc import epc_qr_svg
from payments.forms import CardForm, ChallengeForm, InvoiceOpenForm, InvoicePayForm, OrderForm
from payments.models import CheckoutOrderKind, CheckoutOrderStatus, CheckoutProvider, SandboxCardPaymentStatus
from payments.qr import images
from payments.qr.invoices import dealer_invoice_pay, dealer_invoice_reference_from_payload
from payments.qr.selectors import (
    checkout_order_get_for_user,
    dealer_invoice_get_by_reference,
    qr_code_get_for_user,
    qr_code_list_for_user,
    qr_code_view,
    qr_product_get_active,
    qr_product_list_active,
)
from payments.qr.services import qr_code_block_and_replace
from payments.qr.statements import code_history, customer_statement
from payments.qr.tokens import qr_png, qr_svg
from payments.statements import statement_csv
from payments.views.qr_common import (
    csv_response,
    form_error,
    is_photo_error,
    photo_error_status,
    statement_in_reader_zone,
    with_retry_after,
)


def qr_product_list_view(request: HttpRequest) -> HttpResponse:
    """The catalogue is public; buying needs a customer account."""
    return render(request, "payments/qr/product_list.html", {"products": qr_product_list_active()})


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def qr_product_order_view(request: HttpRequest, slug: str) -> HttpResponse:
    product = qr_product_get_active(slug=slug)
    form = OrderForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            _, start = checkout_order_create(
                customer=request.user, product=product, amount=form.amount_minor_units(),
                provider=form.cleaned_data["provider"],
            )  # fmt: skip
        except ApplicationError as error:
            form_error(form, error, field="amount" if "amount" in form.fields else None)
        else:
            return redirect(start.next_path)
    context = {"product": product, "form": form}
    return render(request, "payments/qr/product_order.html", context, status=400 if form.errors else 200)


@role_required(Role.CUSTOMER)
def qr_order_detail_view(request: HttpRequest, order_id: str) -> HttpResponse:
    order = checkout_order_get_for_user(user=request.user, public_id=order_id)
    context: dict[str, object] = {"order": order, "amount": Money(order.amount, order.currency)}
    if order.provider == CheckoutProvider.SEPA_TRANSFER and order.status == CheckoutOrderStatus.AWAITING_PAYMENT:
        payload = sepa_order_payload(order=order)
        iban = settings.PAYMENTS_SEPA_IBAN
        context |= {
            "girocode_svg": epc_qr_svg(payload),
            "iban": " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
            "beneficiary": settings.PAYMENTS_SEPA_BENEFICIARY_NAME,
        }
    context["is_waiting"] = order.status == CheckoutOrderStatus.AWAITING_PAYMENT
    context["is_top_up"] = order.kind == CheckoutOrderKind.WALLET_TOP_UP
    return render(request, "payments/qr/order_detail.html", context)


def _sandbox_acquirer_required() -> None:
    """The acquirer's hosted pages exist only where the sandbox acquirer is in use (never in production)."""
    if not payment_provider_is_offered(name=CheckoutProvider.CARD_SANDBOX):
        raise Http404("The sandbox card acquirer is not in use here.")


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def sandbox_card_pay_view(request: HttpRequest, order_id: str) -> HttpResponse:
    """The sandbox acquirer's hosted card page (the portal itself never stores what is typed here)."""
    _sandbox_acquirer_required()
    order = checkout_order_get_for_user(user=request.user, public_id=order_id)
    if order.provider != CheckoutProvider.CARD_SANDBOX:
        raise Http404("Not a card order.")
    form = CardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            payment = sandbox.sandbox_card_payment_create(
                order_id=order.pk, card_number=form.cleaned_data["card_number"]
            )
        except ApplicationError as error:
            form_error(form, error, field="card_number" if error.code == "card_number_invalid" else None)
        else:
            if payment.status == SandboxCardPaymentStatus.CHALLENGE_REQUIRED:
                return redirect("payments:sandbox-card-challenge", order.public_id)
            return redirect("payments:qr-order-detail", order.public_id)
    context = {"order": order, "amount": Money(order.amount, order.currency), "form": form}
    return render(request, "payments/qr/sandbox_card.html", context)


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def sandbox_card_challenge_view(request: HttpRequest, order_id: str) -> HttpResponse:
    _sandbox_acquirer_required()
    order = checkout_order_get_for_user(user=request.user, public_id=order_id)
    payment = getattr(order, "card_payment", None)
    if payment is None or payment.status != SandboxCardPaymentStatus.CHALLENGE_REQUIRED:
        return redirect("payments:qr-order-detail", order.public_id)
    form = ChallengeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sandbox.sandbox_challenge_complete(payment_id=payment.pk, one_time_code=form.cleaned_data["one_time_code"])
        except ApplicationError as error:
            form_error(form, error, field="one_time_code")
        else:
            return redirect("payments:qr-order-detail", order.public_id)
    context = {"order": order, "payment": payment, "amount": Money(order.amount, order.currency), "form": form}
    return render(request, "payments/qr/sandbox_challenge.html", context)


@role_required(Role.CUSTOMER)
def qr_code_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "payments/qr/code_list.html", {"codes": qr_code_list_for_user(user=request.user)})


@role_required(Role.CUSTOMER)
def qr_code_detail_view(request: HttpRequest, code_id: str) -> HttpResponse:
    code = qr_code_get_for_user(user=request.user, public_id=code_id)
    view = qr_code_view(code=code)
    history = code_history(code=code)
    context = {"view": view, "code": code, "history": history, "qr_svg": qr_svg(text=view.token)}
    return render(request, "payments/qr/code_detail.html", context)


@role_required(Role.CUSTOMER)
def qr_code_print_view(request: HttpRequest, code_id: str) -> HttpResponse:
    code = qr_code_get_for_user(user=request.user, public_id=code_id)
    view = qr_code_view(code=code)
    return render(request, "payments/qr/code_print.html", {"view": view, "qr_svg": qr_svg(text=view.token, scale=8)})


@role_required(Role.CUSTOMER)
def qr_code_png_view(request: HttpRequest, code_id: str) -> HttpResponse:
    code = qr_code_get_for_user(user=request.user, public_id=code_id)
    response = HttpResponse(qr_png(text=qr_code_view(code=code).token), content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="finlab-code-{code.short_id}.png"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.CUSTOMER)
def qr_code_svg_view(request: HttpRequest, code_id: str) -> HttpResponse:
    code = qr_code_get_for_user(user=request.user, public_id=code_id)
    response = HttpResponse(qr_svg(text=qr_code_view(code=code).token), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="finlab-code-{code.short_id}.svg"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.CUSTOMER)
@require_POST
def qr_code_block_view(request: HttpRequest, code_id: str) -> HttpResponse:
    code = qr_code_get_for_user(user=request.user, public_id=code_id)
    try:
        replacement = qr_code_block_and_replace(code_id=code.pk, owner=request.user)
    except ApplicationError as error:
        messages.error(request, error.detail)
        return redirect("payments:qr-code-detail", code.public_id)
    messages.success(
        request, f"Code {code.short_id} is blocked; its balance moved to the new code {replacement.short_id}."
    )
    return redirect("payments:qr-code-detail", replacement.public_id)


@role_required(Role.CUSTOMER)
def qr_statement_view(request: HttpRequest) -> HttpResponse:
    return render(request, "payments/qr/statement.html", {"statement": customer_statement(user=request.user)})


@role_required(Role.CUSTOMER)
def qr_statement_csv_view(request: HttpRequest) -> HttpResponse:
    statement = statement_in_reader_zone(customer_statement(user=request.user))
    return csv_response(statement_csv(statement=statement), filename="my-codes.csv")


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def qr_invoice_open_view(request: HttpRequest) -> HttpResponse:
    """The customer pastes a dealer invoice's QR text or uploads a photo of it; the portal finds the invoice."""
    form = InvoiceOpenForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            photo = form.cleaned_data.get("photo")
            payload = (
                images.qr_photo_decode_for_user(user_id=request.user.pk, photo=photo)
                if photo
                else form.cleaned_data["payload"]
            )
            reference = dealer_invoice_reference_from_payload(payload=payload)
        except ApplicationError as error:
            form_error(form, error, field="photo" if photo and is_photo_error(error) else None)
            status = photo_error_status(error)
        else:
            return redirect("payments:qr-invoice-pay", reference)
    return with_retry_after(render(request, "payments/qr/invoice_open.html", {"form": form}, status=status))


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def qr_invoice_pay_view(request: HttpRequest, reference: str) -> HttpResponse:
    invoice = dealer_invoice_get_by_reference(reference=reference)
    codes = [v for v in qr_code_list_for_user(user=request.user) if v.is_active]
    choices = [(v.code.pk, f"Code {v.code.short_id} · available {v.available}") for v in codes]
    form = InvoicePayForm(request.POST or None, codes=choices)
    if request.method == "POST" and form.is_valid():
        try:
            dealer_invoice_pay(invoice_id=invoice.pk, code_id=form.cleaned_data["code"], customer=request.user)
        except ApplicationError as error:
            form_error(form, error, field="code")
        else:
            messages.success(request, gettext("Invoice %(reference)s is paid.") % {"reference": invoice.reference})
            return redirect("payments:qr-statement")
    context = {"invoice": invoice, "amount": Money(invoice.amount, invoice.currency), "form": form}
    return render(request, "payments/qr/invoice_pay.html", context)
