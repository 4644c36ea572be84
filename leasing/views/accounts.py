"""Applications and contracts as their customer, originating dealer or the back office sees them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from accounts.permissions import role_required
from accounts.roles import Role
from core.errors import ApplicationError
from core.pagination import list_page
from leasing import selectors
from leasing.forms import (
    ApplicationSearchForm,
    ContractAcceptForm,
    ContractSearchForm,
    EndOfTermForm,
    PauseForm,
    PayoffForm,
    ReasonForm,
    RestructureForm,
    VerdictForm,
)
from leasing.models import ApplicationStatus, ContractStatus, DunningLetter, IdentityCheckStatus
from leasing.services.applications import UNDER_18_DECLINE_REASON
from leasing.services.changes import payoff_quote_create
from leasing.services.contracts import contract_accept
from leasing.services.credit_verdicts import application_credit_verdicts_collect
from leasing.services.identity_checks import (
    identity_check_links,
    identity_check_passed,
    identity_check_shows_under_18,
    identity_check_start,
    refusal_text,
)
from leasing.views.common import form_error_apply, pdf_response

ALL_ROLES = (Role.CUSTOMER, Role.DEALER, Role.BACK_OFFICE)


@role_required(*ALL_ROLES)
def application_list(request: HttpRequest) -> HttpResponse:
    """Everyone's applications as their role sees them, searchable by number, reference, customer e-mail and status."""
    form = ApplicationSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    applications = selectors.application_search_for_user(
        user=request.user, query=filters.get("query", ""), status=filters.get("status", "")
    )
    context = {
        "form": form,
        "listing": list_page(request, applications),
        "is_filtered": bool(filters.get("query") or filters.get("status")),
        "role": request.user.role,
    }
    return render(request, "leasing/application_list.html", context, status=400 if form.errors else 200)


@role_required(*ALL_ROLES)
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    application = selectors.application_get_for_user(user=request.user, application_id=application_id)
    if application.status == ApplicationStatus.CREDIT_CHECK_PENDING and application_credit_verdicts_collect(
        application_ids=[application.pk]
    ):
        # A verdict arrived since the last collect run; show it now rather than up to a minute later.
        application = selectors.application_get_for_user(user=request.user, application_id=application_id)
    return render(request, "leasing/application_detail.html", _application_context(request, application))


@role_required(*ALL_ROLES)
def application_status(request: HttpRequest, application_id: int) -> JsonResponse:
    """The application's state as JSON, polled by its page (static/js/refresh.js) to reload once it changes."""
    application = selectors.application_get_for_user(user=request.user, application_id=application_id)
    if application.status == ApplicationStatus.CREDIT_CHECK_PENDING and application_credit_verdicts_collect(
        application_ids=[application.pk]
    ):
        application = selectors.application_get_for_user(user=request.user, application_id=application_id)
    response = JsonResponse({"status": _application_state(application)})
    response["Cache-Control"] = "no-store"
    return response


def _application_state(application) -> str:
    """What the page shows that can change without the reader: the status, the credit check, the approvals and the
    identity check (answered from a phone while the page is open)."""
    credit_check = getattr(application, "credit_check", None)
    identity_check = selectors.identity_check_latest(application=application)
    return ":".join(
        [
            application.status,
            credit_check.status if credit_check else "",
            str(application.approvals.count()),
            str(getattr(getattr(application, "contract", None), "status", "")),
            f"{identity_check.pk}-{identity_check.status}" if identity_check else "",
        ]
    )


def _application_context(request: HttpRequest, application, **forms) -> dict:
    is_back_office = request.user.role == Role.BACK_OFFICE
    shows_refusals = request.user.role in (Role.BACK_OFFICE, Role.DEALER)
    is_undecided = application.status in (ApplicationStatus.CREDIT_CHECK_PENDING, ApplicationStatus.DECISION_PENDING)
    identity = _identity_context(request, application, is_undecided=is_undecided)
    # Back office declines an application whose customer is not of age even while its credit check is open.
    can_decline = is_back_office and (
        application.status == ApplicationStatus.DECISION_PENDING or (is_undecided and identity["applicant_under_18"])
    )
    # The reason for that decline is filled in; back office may still change it.
    decline_initial = {"reason": str(UNDER_18_DECLINE_REASON)} if identity["applicant_under_18"] else None
    return {
        **identity,
        "application": application,
        "application_state": _application_state(application),
        "is_undecided": is_undecided,
        # The page polls while others act; not for back office, who act here themselves (a reload would lose a form).
        "waits_for_others": not is_back_office and is_undecided,
        "is_customer": request.user.role == Role.CUSTOMER,
        "credit_verdict_refusals": (
            selectors.credit_verdict_refusals_for_application(application=application) if shows_refusals else []
        ),
        "quote": application.quote,
        "contract": getattr(application, "contract", None),
        "approvals": list(application.approvals.all()),
        "can_record_verdict": is_back_office and application.status == ApplicationStatus.CREDIT_CHECK_PENDING,
        "can_decline": can_decline,
        "verdict_form": forms.get("verdict_form") or VerdictForm(),
        "approve_form": forms.get("approve_form") or ReasonForm(prefix="approve"),
        "decline_form": forms.get("decline_form") or ReasonForm(prefix="decline", initial=decline_initial),
    }


def _identity_context(request: HttpRequest, application, *, is_undecided: bool) -> dict:
    """Where the identity check stands and what the reader can do about it.

    A verified answer that the customer is not over 18 is final: no new check can be started, and every party is told
    that the application cannot go on (``applicant_under_18``)."""
    identity_check = selectors.identity_check_latest(application=application)
    wallet_request = identity_check_links(identity_check) if identity_check else None
    # a check can be (re)started when there is none, it was refused, or its request expired unanswered
    can_restart = identity_check is None or identity_check.status == IdentityCheckStatus.REFUSED
    can_restart = can_restart or (identity_check.status == IdentityCheckStatus.OPEN and wallet_request is None)
    applicant_under_18 = identity_check_shows_under_18(application=application)
    return {
        "identity_check": identity_check,
        "identity_check_refusal": refusal_text(identity_check.refusal_reason) if identity_check else "",
        "identity_wallet_request": wallet_request,
        "identity_check_passed": identity_check_passed(application=application),
        "applicant_under_18": applicant_under_18,
        "can_start_identity_check": request.user.role == Role.CUSTOMER
        and is_undecided
        and can_restart
        and not applicant_under_18,
    }


def application_page_refused(request: HttpRequest, application, **forms) -> HttpResponse:
    """The application page again, with the refused form bound so its errors show next to its fields (400)."""
    return render(
        request, "leasing/application_detail.html", _application_context(request, application, **forms), status=400
    )


def contract_page_refused(request: HttpRequest, contract, **forms) -> HttpResponse:
    """The contract page again, with the refused form bound so its errors show next to its fields (400)."""
    return render(request, "leasing/contract_detail.html", _contract_context(request, contract, **forms), status=400)


@role_required(*ALL_ROLES)
def contract_list(request: HttpRequest) -> HttpResponse:
    form = ContractSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    contracts = selectors.contract_search_for_user(
        user=request.user, query=filters.get("query", ""), status=filters.get("status", "")
    )
    context = {
        "form": form,
        "listing": list_page(request, contracts),
        "is_filtered": bool(filters.get("query") or filters.get("status")),
        "role": request.user.role,
    }
    return render(request, "leasing/contract_list.html", context, status=400 if form.errors else 200)


def _contract_context(request: HttpRequest, contract, **forms) -> dict:
    is_back_office = request.user.role == Role.BACK_OFFICE
    is_running = contract.status in (ContractStatus.ACTIVE, ContractStatus.IN_ARREARS)
    return {
        "contract": contract,
        "items": selectors.contract_schedule_items(contract=contract),
        "payoff_quotes": list(contract.payoff_quotes.all()[:5]),
        "letters": list(contract.dunning_letters.all()),
        "events": list(contract.events.all()),
        "can_accept": request.user.pk == contract.customer_id and contract.status == ContractStatus.OFFERED,
        "can_request_payoff": is_running and (is_back_office or request.user.pk == contract.customer_id),
        "is_back_office": is_back_office,
        "is_running": is_running,
        "today": timezone.localdate(),
        "accept_form": forms.get("accept_form")
        or ContractAcceptForm(initial={"document_sha256": contract.document_sha256}),
        "payoff_form": forms.get("payoff_form") or PayoffForm(initial={"payoff_date": timezone.localdate()}),
        "pause_form": forms.get("pause_form") or PauseForm(prefix="pause"),
        "end_form": forms.get("end_form") or EndOfTermForm(prefix="end"),
        "restructure_form": forms.get("restructure_form") or RestructureForm(prefix="restructure"),
    }


@role_required(*ALL_ROLES)
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    return render(request, "leasing/contract_detail.html", _contract_context(request, contract))


@role_required(*ALL_ROLES)
def contract_document(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    return pdf_response(content=contract.document_pdf, filename=f"contract-{contract.number}.pdf")


@role_required(*ALL_ROLES)
def dunning_letter(request: HttpRequest, contract_id: int, letter_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    letter = DunningLetter.objects.filter(contract=contract, pk=letter_id).first()
    if letter is None:
        raise Http404("No such letter.")
    return pdf_response(content=letter.pdf, filename=f"reminder-{contract.number}-{letter.level}.pdf")


@require_http_methods(["POST"])
@role_required(Role.CUSTOMER)
def contract_accept_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    """The customer accepts the document they were shown (its SHA-256 travels with the form)."""
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    form = ContractAcceptForm(request.POST)
    if form.is_valid():
        try:
            contract_accept(
                contract_id=contract.pk,
                customer=request.user,
                document_sha256=form.cleaned_data["document_sha256"],
                collection_method=form.cleaned_data["collection_method"],
                iban=form.cleaned_data["iban"],
                bic=form.cleaned_data["bic"],
            )
        except ApplicationError as error:
            form_error_apply(form=form, error=error)
        else:
            messages.success(request, gettext("Contract accepted. Welcome aboard!"))
            return redirect("leasing:contract-detail", contract_id=contract.pk)
    context = _contract_context(request, contract, accept_form=form)
    return render(request, "leasing/contract_detail.html", context, status=400)


@require_http_methods(["POST"])
@role_required(Role.CUSTOMER, Role.BACK_OFFICE)
def payoff_quote_create_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
    form = PayoffForm(request.POST)
    if form.is_valid():
        try:
            payoff_quote_create(
                contract_id=contract.pk, payoff_date=form.cleaned_data["payoff_date"], created_by=request.user
            )
        except ApplicationError as error:
            form_error_apply(form=form, error=error)
        else:
            return redirect("leasing:contract-detail", contract_id=contract.pk)
    context = _contract_context(request, contract, payoff_form=form)
    return render(request, "leasing/contract_detail.html", context, status=400)


@role_required(Role.DEALER)
def dealer_lease_payouts(request: HttpRequest) -> HttpResponse:
    """What the lease book paid the dealer's organisation; QR money is on the QR statement."""
    if request.user.dealer_organisation_id is None:
        raise PermissionDenied
    statement = selectors.dealer_lease_payout_statement(organisation_id=request.user.dealer_organisation_id)
    return render(request, "leasing/dealer_payouts.html", {"statement": statement})


@role_required(Role.CUSTOMER)
@require_http_methods(["POST"])
def identity_check_start_view(request: HttpRequest, application_id: int) -> HttpResponse:
    """The customer asks their wallet to show that they are over 18 (nothing else) for this application."""
    application = selectors.application_get_for_user(user=request.user, application_id=application_id)
    try:
        identity_check_start(application=application)
    except ApplicationError as error:
        messages.error(request, error.detail)
    return redirect("leasing:application-detail", application_id=application.pk)
