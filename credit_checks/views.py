"""Pages of the credit-check flow: dealers open requests and read verdicts, customers consent or decline and may
contest, back office reviews."""

from __future__ import annotations

import json
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.permissions import role_required
from accounts.roles import Role
from accounts.services import request_rate_exceeded
from core.errors import ApplicationError
from credit_checks import selectors, services
from credit_checks.forms import (
    CreditCheckContestForm,
    CreditCheckRequestForm,
    CreditCheckReviewForm,
    CreditPolicyForm,
)
from credit_checks.models import CreditCheckPurpose
from credit_checks.openid4vp import credit_check_links
from credit_checks.policy import credit_policy_current, credit_policy_version_create
from identity.services import keys

_TOO_MANY = gettext_lazy("Too many requests. Wait a minute before trying again.")


def _attach(form: Any, error: ApplicationError) -> None:
    placed = [form.add_error(name, error.detail) for name in error.fields if name in form.fields]
    if not placed:
        form.add_error(None, error.detail)


def _rate_limited(request: HttpRequest, scope: str) -> bool:
    """The fixed-window counter of the login forms, here per signed-in user, on the forms that open or answer a check."""
    return request_rate_exceeded(
        scope=scope, client=f"user:{request.user.pk}", limit_per_minute=settings.CREDIT_CHECK_PAGE_RATE_PER_MINUTE
    )


def _too_many_response(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    response = render(request, template, context | {"blocked_message": _TOO_MANY}, status=429)
    response["Retry-After"] = "60"
    return response


def _outcome_context(credit_check: Any) -> dict[str, Any]:
    credit_check = selectors.credit_check_display(request=credit_check)
    verdict = getattr(credit_check, "verdict", None) if credit_check.status == "decided" else None
    return {
        "credit_check": credit_check,
        "verdict": verdict,
        "reviews": list(verdict.reviews.all()) if verdict else [],
    }


@role_required(Role.DEALER)
@require_http_methods(["GET", "POST"])
def credit_check_list_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and _rate_limited(request, "credit-check-create"):
        form = CreditCheckRequestForm(initial=request.POST.dict())
        return _too_many_response(request, "credit_checks/list.html", _list_context(request, form))
    # A link from the dealer's application list names the application the check is for (?lease_application_id=N).
    initial = {"lease_application_id": request.GET.get("lease_application_id", "")[:12]}
    form = CreditCheckRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credit_check = services.credit_check_request_create(
                dealer_user=request.user,
                purpose=data["purpose"],
                amount=form.amount_minor(),
                currency=data["currency"],
                term_months=data["term_months"],
                lease_application_id=data["lease_application_id"],
            )
        except ApplicationError as error:
            _attach(form, error)
        else:
            return redirect("credit_checks:credit-check-detail", request_id=credit_check.pk)
    context = _list_context(request, form)
    return render(request, "credit_checks/list.html", context, status=400 if form.errors else 200)


def _list_context(request: HttpRequest, form: CreditCheckRequestForm) -> dict[str, Any]:
    credit_checks = [
        selectors.credit_check_display(request=item)
        for item in selectors.credit_check_list_for_dealer(user=request.user)
    ]
    return {"form": form, "credit_checks": credit_checks}


@role_required(Role.DEALER)
def credit_check_detail_view(request: HttpRequest, request_id: int) -> HttpResponse:
    """While the request is open: the OpenID4VP QR code for the customer's wallet (cross-device) and the link to the
    portal's consent page; the page follows the status by itself (static/js/refresh.js) and shows the outcome."""
    credit_check = selectors.credit_check_get_for_dealer(user=request.user, request_id=request_id)
    link = request.build_absolute_uri(
        reverse("credit_checks:credit-check-respond", kwargs={"link_token": credit_check.link_token})
    )
    qr_svg = segno.make_qr(link, error="m").svg_inline(scale=4, title=gettext("Credit-check link"))
    context = _outcome_context(credit_check) | {
        "link": link,
        "qr_svg": qr_svg,
        "wallet_request": credit_check_links(credit_check) if credit_check.status == "open" else None,
    }
    return render(request, "credit_checks/detail.html", context)


@role_required(Role.DEALER)
@require_http_methods(["GET"])
def credit_check_status_view(request: HttpRequest, request_id: int) -> JsonResponse:
    """The dealer page's poll: the status and, once it changed, the outcome section to show in place."""
    credit_check = selectors.credit_check_get_for_dealer(user=request.user, request_id=request_id)
    body: dict[str, Any] = {"status": credit_check.status}
    if credit_check.status != "open":
        body["outcomeHtml"] = render_to_string(
            "credit_checks/_outcome.html", _outcome_context(credit_check), request=request
        )
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.DEALER)
@require_http_methods(["GET", "POST"])
def credit_policy_view(request: HttpRequest) -> HttpResponse:
    organisation = request.user.dealer_organisation
    form = CreditPolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and organisation is not None:
        try:
            policy = credit_policy_version_create(
                dealer_organisation=organisation, created_by=request.user, **form.cleaned_data
            )
        except ApplicationError as error:
            _attach(form, error)
        else:
            messages.success(
                request,
                gettext("Version %(version)s of the credit policy (%(purpose)s) applies from now on.")
                % {"version": policy.version, "purpose": policy.get_purpose_display()},
            )
            return redirect("credit_checks:credit-policy")
    policies = (
        [
            credit_policy_current(dealer_organisation=organisation, purpose=purpose)
            for purpose in CreditCheckPurpose.values
        ]
        if organisation is not None
        else []
    )
    context = {"form": form, "policies": policies}
    return render(request, "credit_checks/policy.html", context, status=400 if form.errors else 200)


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def credit_check_respond_view(request: HttpRequest, link_token: str) -> HttpResponse:
    """The disclosure screen: exactly what goes to which dealer, why and for how long; decline or consent and present
    from the browser wallet (static/identity/credit_check.js fills in the presentation)."""
    credit_check = services.credit_check_claim(link_token=link_token, customer=request.user)
    action = request.POST.get("action", "")
    if request.method == "POST" and _rate_limited(request, "credit-check-respond"):
        return _too_many_response(request, "credit_checks/respond.html", _respond_context(credit_check))
    if request.method == "POST":
        try:
            if action == "decline":
                services.credit_check_decline(request=credit_check, customer=request.user)
            elif action == "present":
                services.credit_check_present(
                    request=credit_check, customer=request.user, presentation=request.POST.get("presentation", "")
                )
        except ApplicationError as error:
            messages.error(request, error.detail)
        return redirect("credit_checks:credit-check-mine", request_id=credit_check.pk)
    if credit_check.status != "open":
        return redirect("credit_checks:credit-check-mine", request_id=credit_check.pk)
    return render(request, "credit_checks/respond.html", _respond_context(credit_check))


def _respond_context(credit_check: Any) -> dict[str, Any]:
    return {
        "credit_check": selectors.credit_check_display(request=credit_check),
        "wallet_request": credit_check_links(credit_check),
        "dealer_name": credit_check.dealer_organisation.name,
        "portal_did": keys.portal_did(),
        "wallet_requests": [("credit_history", gettext("Get my credit-history credential (demo credit bureau)"))]
        if settings.IDENTITY_DEMO_ISSUERS
        else [],
    }


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def credit_check_mine_view(request: HttpRequest, request_id: int) -> HttpResponse:
    """The customer's view of one credit check: outcome, receipt, and the contest form."""
    credit_check = selectors.credit_check_get_for_customer(user=request.user, request_id=request_id)
    form = CreditCheckContestForm(request.POST or None)
    context = _outcome_context(credit_check)
    if request.method == "POST" and form.is_valid() and context["verdict"] is not None:
        try:
            services.credit_check_contest(
                verdict=context["verdict"], customer=request.user, message=form.cleaned_data["message"]
            )
        except ApplicationError as error:
            _attach(form, error)
        else:
            messages.success(
                request, gettext("Your objection is recorded; a person at FinLab will review the decision.")
            )
            return redirect("credit_checks:credit-check-mine", request_id=credit_check.pk)
    context |= {"form": form, "dealer_name": credit_check.dealer_organisation.name}
    return render(request, "credit_checks/mine.html", context, status=400 if form.errors else 200)


@role_required(Role.CUSTOMER)
def consent_receipt_download_view(request: HttpRequest, request_id: int) -> HttpResponse:
    credit_check = selectors.credit_check_get_for_customer(user=request.user, request_id=request_id)
    receipt = getattr(credit_check, "consent_receipt", None)
    if receipt is None:
        return HttpResponse(gettext("No consent was given or refused yet."), status=404, content_type="text/plain")
    body = json.dumps(selectors.consent_receipt_document(receipt=receipt), indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt.receipt_id}.json"'
    return response


@role_required(Role.CUSTOMER)
def payment_history_view(request: HttpRequest) -> HttpResponse:
    """Hosts the wallet so the portal's payment-history credential can be requested into it."""
    context = {"wallet_requests": [("payment_history", gettext("Get my payment-history credential (FinLab)"))]}
    return render(request, "credit_checks/payment_history.html", context)


@role_required(Role.BACK_OFFICE)
def credit_check_review_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "credit_checks/review_list.html", {"verdicts": selectors.credit_check_review_queue()})


@role_required(Role.BACK_OFFICE)
@require_http_methods(["GET", "POST"])
def credit_check_review_view(request: HttpRequest, verdict_id: int) -> HttpResponse:
    verdict = selectors.credit_check_verdict_get_for_back_office(verdict_id=verdict_id)
    form = CreditCheckReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.credit_check_review(verdict=verdict, reviewer=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _attach(form, error)
        else:
            messages.success(request, gettext("The review is recorded."))
            return redirect("credit_checks:credit-check-review-list")
    selectors.credit_check_display(request=verdict.request)
    verdict.rule_texts = selectors.rule_texts(verdict.rule_results)
    context = {
        "verdict": verdict,
        "form": form,
        "reviews": verdict.reviews.select_related("reviewer"),
        "contests": verdict.contests.all(),
    }
    return render(request, "credit_checks/review.html", context, status=400 if form.errors else 200)
