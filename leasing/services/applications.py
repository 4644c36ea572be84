"""Applications: apply for a quote, wait for the credit check, and the back office's decision.

The credit check is done by the dealer credit-check flow (identity app). Leasing only needs its verdict, through
`CreditCheckGateway`; the gateway in use records the check as required and leaves the application in
`credit_check_pending` until `application_credit_verdict_record` is called with the verdict — by
`credit_verdicts.application_credit_verdicts_collect`, which pulls it from that flow, or by a back-office user
entering a manual verdict with a reason. A recorded "declined" declines the application; "approved" and "referred"
move it to a human decision: one back-office approval, or two from different users when the financed amount is above
`LEASING_FOUR_EYES_LIMIT` (minor units). Approval also waits for the customer's identity check (over 18, shown from
a wallet over OpenID4VP, see `leasing.services.identity_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import DealerOrganisation, User
from core.errors import ValidationFailed
from leasing.errors import ApplicationStateError, FourEyesError, IdentityCheckRequiredError
from leasing.models import (
    Application,
    ApplicationApproval,
    ApplicationStatus,
    CreditCheck,
    CreditCheckStatus,
    CreditVerdict,
    Quote,
)
from leasing.notifications import application_decided_notify
from leasing.services.identity_checks import identity_check_passed, identity_check_shows_under_18
from leasing.services.quotes import QuoteInput, quote_create

DEFAULT_FOUR_EYES_LIMIT = 50_000_00
IDENTITY_CHECK_REQUIRED_TEXT = gettext_lazy(
    "This application cannot be approved yet: the customer has not shown that they are over 18. Next step: the "
    "customer opens the application in the portal and answers its identity check from their wallet (on the same "
    "device or by scanning the QR code)."
)
APPLICANT_UNDER_18_TEXT = gettext_lazy(
    "This application cannot be approved: the customer's wallet showed that they are not over 18, and a lease needs "
    "the holder to be of age. Decline the application with that reason."
)
UNDER_18_DECLINE_REASON = gettext_lazy(
    "A lease needs the holder to be of age; the identity check from your wallet showed that you are not over 18."
)
"""The decline reason offered to back office for such an application (the customer reads it)."""


def four_eyes_limit() -> int:
    """Financed amount in minor units above which two different back-office users must approve."""
    return int(getattr(settings, "LEASING_FOUR_EYES_LIMIT", DEFAULT_FOUR_EYES_LIMIT))


@dataclass(frozen=True)
class CreditCheckOutcome:
    """What a gateway answers right away: a verdict, or None when the verdict arrives later."""

    verdict: CreditVerdict | None
    external_reference: str = ""


class CreditCheckGateway(Protocol):
    """Asks for the credit check an application needs."""

    def credit_check_request(self, *, application: Application) -> CreditCheckOutcome: ...


class RecordedCreditCheckGateway:
    """Records the check as required; the verdict arrives later through `application_credit_verdict_record`."""

    def credit_check_request(self, *, application: Application) -> CreditCheckOutcome:
        return CreditCheckOutcome(verdict=None)


def credit_check_gateway() -> CreditCheckGateway:
    return RecordedCreditCheckGateway()


@transaction.atomic
def application_create(
    *,
    customer: User,
    quote_input: QuoteInput,
    dealer_organisation: DealerOrganisation | None = None,
    gateway: CreditCheckGateway | None = None,
) -> Application:
    """Prices the chosen terms again (never trusts a stale quote), stores quote and application and requests the
    credit check. Any refused input raises a named error and leaves nothing behind (one transaction)."""
    quote = quote_create(data=quote_input, created_by=customer)
    application = Application.objects.create(
        quote=quote,
        customer=customer,
        dealer_organisation=dealer_organisation,
        financed_amount=quote.financed_amount,
        currency=quote.currency,
        approvals_required=2 if quote.financed_amount > four_eyes_limit() else 1,
    )
    CreditCheck.objects.create(application=application)
    outcome = (gateway or credit_check_gateway()).credit_check_request(application=application)
    if outcome.verdict is not None:
        return application_credit_verdict_record(
            application_id=application.pk,
            verdict=outcome.verdict,
            source="gateway",
            external_reference=outcome.external_reference,
        )
    return application


def application_from_quote(
    *, customer: User, quote: Quote, dealer_organisation: DealerOrganisation | None
) -> Application:
    """Applies for a stored quote: the same terms priced again for a quote that is the customer's own."""
    return application_create(
        customer=customer,
        dealer_organisation=dealer_organisation,
        quote_input=QuoteInput(
            product_code=quote.product.code,
            price=quote.price,
            down_payment=quote.down_payment,
            term_months=quote.term_months,
            yearly_km=quote.yearly_km,
            residual_value=None if quote.product.is_mileage_lease else quote.residual_value,
            timing=quote.timing,
            start_date=max(quote.start_date, timezone.localdate()),
            service_package_codes=[package.code for package in quote.service_packages.all()],
        ),
    )


@transaction.atomic
def application_credit_verdict_record(
    *,
    application_id: int,
    verdict: str,
    source: str,
    external_reference: str = "",
    reason: str = "",
    recorded_by: User | None = None,
) -> Application:
    """Records the credit-check verdict once and moves the application on (declined, or to the human decision).

    Called by the verdict collection (`source="credential"`, the credit-check request id as `external_reference`)
    or for a manual verdict by back office (`source="manual"`, `recorded_by` and a `reason` are then required).
    """
    if verdict not in CreditVerdict.values:
        raise ValidationFailed(
            gettext_lazy("Unknown verdict."), code="verdict_invalid", fields={"verdict": ["Unknown."]}
        )
    if source == "manual" and (recorded_by is None or not reason.strip()):
        raise ValidationFailed(
            gettext_lazy("A manual verdict needs a reason."), code="reason_required", fields={"reason": ["Required."]}
        )
    application = Application.objects.select_for_update().get(pk=application_id)
    check = CreditCheck.objects.select_for_update().get(application=application)
    if check.status != CreditCheckStatus.REQUIRED or application.status != ApplicationStatus.CREDIT_CHECK_PENDING:
        raise ApplicationStateError(gettext_lazy("The credit check of this application is already recorded."))
    now = timezone.now()
    check.status, check.verdict, check.source = CreditCheckStatus.RECORDED, verdict, source
    check.external_reference, check.reason, check.recorded_by, check.recorded_at = (
        external_reference[:100],
        reason[:500],
        recorded_by,
        now,
    )
    check.save()
    if verdict == CreditVerdict.DECLINED:
        application.status, application.decided_at = ApplicationStatus.DECLINED, now
        application.decline_reason = "The credit check was declined."
    else:
        application.status = ApplicationStatus.DECISION_PENDING
    application.save(update_fields=["status", "decided_at", "decline_reason", "updated_at"])
    if application.status == ApplicationStatus.DECLINED:
        application_decided_notify(application=application)
    return application


@transaction.atomic
def application_approve(*, application_id: int, approved_by: User, reason: str) -> Application:
    """Records one back-office approval; when enough different users approved, the application is approved and a
    contract is offered (its PDF issued). The same user approving twice raises `FourEyesError`.

    No approval, not even the first of two, is taken before the customer's identity check has passed (see
    `identity_check_passed`): `IdentityCheckRequiredError` (``identity_check_required``) names the next step."""
    from leasing.services.contracts import contract_offer

    if not reason.strip():
        raise ValidationFailed(
            gettext_lazy("An approval needs a reason."), code="reason_required", fields={"reason": ["Required."]}
        )
    application = Application.objects.select_for_update().get(pk=application_id)
    if application.status != ApplicationStatus.DECISION_PENDING:
        raise ApplicationStateError(gettext_lazy("Only an application waiting for a decision can be approved."))
    if identity_check_shows_under_18(application=application):
        raise IdentityCheckRequiredError(APPLICANT_UNDER_18_TEXT)
    if not identity_check_passed(application=application):
        raise IdentityCheckRequiredError(IDENTITY_CHECK_REQUIRED_TEXT)
    try:
        with transaction.atomic():
            ApplicationApproval.objects.create(application=application, approved_by=approved_by, reason=reason[:500])
    except IntegrityError:
        raise FourEyesError(gettext_lazy("A second approval must come from a different back-office user.")) from None
    if application.approvals.count() >= application.approvals_required:
        application.status, application.decided_at = ApplicationStatus.APPROVED, timezone.now()
        application.save(update_fields=["status", "decided_at", "updated_at"])
        application_decided_notify(application=application)
        contract_offer(application=application)
    return application


@transaction.atomic
def application_decline(*, application_id: int, declined_by: User, reason: str) -> Application:
    """A back-office decline of an application waiting for the credit check or the decision, with a reason."""
    if not reason.strip():
        raise ValidationFailed(
            gettext_lazy("A decline needs a reason."), code="reason_required", fields={"reason": ["Required."]}
        )
    application = Application.objects.select_for_update().get(pk=application_id)
    if application.status not in (ApplicationStatus.CREDIT_CHECK_PENDING, ApplicationStatus.DECISION_PENDING):
        raise ApplicationStateError(gettext_lazy("This application is already decided."))
    application.status, application.decided_at = ApplicationStatus.DECLINED, timezone.now()
    application.decline_reason = reason[:500]
    application.save(update_fields=["status", "decided_at", "decline_reason", "updated_at"])
    application_decided_notify(application=application)
    return application
