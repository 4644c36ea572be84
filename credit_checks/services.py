"""The credit-check flow: a dealer's request, the customer's consent or refusal, verification of the presentation,
the verdict under the dealer's current policy version, human review, contest, and retention.

Stored: the request terms, the consent receipt, the verdict with its policy version, the presentation's SHA-256.
Never stored: the credential or the presentation itself.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.errors import ApplicationError, ConflictError, ValidationFailed
from credit_checks.models import (
    ConsentReceipt,
    CreditCheckContest,
    CreditCheckPurpose,
    CreditCheckRequest,
    CreditCheckReview,
    CreditCheckStatus,
    CreditCheckVerdict,
)
from credit_checks.openid4vp import credit_check_transaction_create
from credit_checks.policy import credit_policy_apply, credit_policy_current
from credit_checks.webhooks import webhook_event_create
from identity.credentials.core import Reason
from identity.credentials.types import SCORE_BANDS
from identity.openid4vp.transactions import presentation_transactions_delete, presentation_transactions_expire
from identity.services import keys
from identity.services.verification import presentation_verify


class AnchorUnverifiable(ApplicationError):
    """The Tangle node could not confirm the credential's anchor: the request stays open for another try (HTTP 503)."""

    status = 503
    code = "anchor_unverifiable"


REQUESTED_CLAIMS = ("scoreBand", "affordabilityCeilingPerMonth")
CREDENTIAL_TYPE = "CreditHistoryCredential"
REQUEST_VALIDITY = timedelta(days=2)
MAX_TERM_MONTHS = 120
REPLAYED = "presentation_replayed"
CLAIMS_MISSING = "claims_missing"


def presentation_hash(presentation: str) -> str:
    """SHA-256 (hex) of the presentation exactly as received; the only trace of it the portal keeps."""
    return hashlib.sha256(presentation.encode()).hexdigest()


def _retention_days() -> int:
    return int(settings.CREDIT_CHECK_RETENTION_DAYS)


def _request_errors(*, purpose: str, amount: int, currency: str, term_months: int) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if purpose not in CreditCheckPurpose.values:
        errors["purpose"] = ["Choose lease or financing."]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors["amount"] = ["A positive whole number of minor units."]
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper() and currency.isalpha()):
        errors["currency"] = ["An ISO 4217 code such as EUR."]
    if isinstance(term_months, bool) or not isinstance(term_months, int) or not 1 <= term_months <= MAX_TERM_MONTHS:
        errors["term_months"] = [f"Between 1 and {MAX_TERM_MONTHS} months."]
    return errors


@transaction.atomic
def credit_check_request_create(
    *,
    dealer_user: User,
    purpose: str,
    amount: int,
    currency: str,
    term_months: int,
    lease_application_id: int | None = None,
    now: datetime | None = None,
) -> CreditCheckRequest:
    """Open a presentation request for the dealer user's organisation: ``amount`` is the monthly instalment in minor
    units of ``currency``. It asks for the score band and affordability ceiling, bound to a fresh 256-bit challenge
    and the organisation's did:web, and expires after REQUEST_VALIDITY.

    ``lease_application_id`` is stored as the dealer typed it, unchecked here. Leasing
    collects the verdict later and applies it only to an application of this organisation and of the customer who
    presented, so a wrong or foreign number changes nothing."""
    organisation = dealer_user.dealer_organisation
    if organisation is None:
        raise ValidationFailed("Your account belongs to no dealer organisation.", code="no_dealer_organisation")
    errors = _request_errors(purpose=purpose, amount=amount, currency=currency, term_months=term_months)
    if errors:
        raise ValidationFailed("The request is incomplete.", fields=errors)
    credit_policy_current(dealer_organisation=organisation, purpose=purpose)
    keys.signing_key_active_get_or_create(controller=keys.dealer_controller(organisation.slug))
    now = now or timezone.now()
    request = CreditCheckRequest.objects.create(
        public_id=uuid.uuid4(),
        link_token=secrets.token_urlsafe(24),
        dealer_organisation=organisation,
        created_by=dealer_user,
        purpose=purpose,
        amount=amount,
        currency=currency,
        term_months=term_months,
        lease_application_id=lease_application_id,
        requested_claims=list(REQUESTED_CLAIMS),
        retention_days=_retention_days(),
        challenge=secrets.token_urlsafe(32),
        domain=keys.dealer_did(slug=organisation.slug),
        created_at=now,
        expires_at=now + REQUEST_VALIDITY,
    )
    credit_check_transaction_create(request=request)
    return request


@transaction.atomic
def credit_check_claim(*, link_token: str, customer: User) -> CreditCheckRequest:
    """The request behind a link, bound to the first customer who opens it; to anyone else it does not exist."""
    request = CreditCheckRequest.objects.select_for_update().filter(link_token=link_token).first()
    if request is None or (request.customer_id is not None and request.customer_id != customer.pk):
        raise Http404("No such credit check.")
    if request.customer_id is None:
        request.customer = customer
        request.save(update_fields=["customer"])
    return request


def _locked_open_request(*, request: CreditCheckRequest, customer: User, now: datetime) -> CreditCheckRequest:
    request = CreditCheckRequest.objects.select_for_update().get(pk=request.pk)
    if request.customer_id != customer.pk:
        raise Http404("No such credit check.")
    if request.status == CreditCheckStatus.OPEN and request.expires_at <= now:
        # The purge task marks it expired; this answer changes nothing.
        raise ConflictError("This credit check has expired; ask the dealer for a new one.", code="request_expired")
    if request.status != CreditCheckStatus.OPEN:
        raise ConflictError("This credit check was already answered or has expired.", code="request_not_open")
    return request


def _receipt_create(*, request: CreditCheckRequest, decision: str, digest: str, now: datetime) -> ConsentReceipt:
    return ConsentReceipt.objects.create(
        request=request,
        receipt_id=uuid.uuid4(),
        user_id_at_consent=request.customer_id,
        decision=decision,
        claims=list(request.requested_claims) if decision == ConsentReceipt.Decision.CONSENTED else [],
        purpose=request.purpose,
        retention_days=request.retention_days,
        dealer_did=request.domain,
        presentation_hash=digest,
        created_at=now,
    )


def _finish(*, request: CreditCheckRequest, status: str, reason: str, now: datetime) -> CreditCheckRequest:
    request.status, request.refusal_reason, request.completed_at = status, reason, now
    request.save(update_fields=["status", "refusal_reason", "completed_at", "presentation_hash"])
    webhook_event_create(request=request)
    return request


@transaction.atomic
def credit_check_decline(*, request: CreditCheckRequest, customer: User, now: datetime | None = None) -> ConsentReceipt:
    """The customer refuses: nothing is disclosed, the dealer sees "declined by the customer", a receipt records it."""
    now = now or timezone.now()
    request = _locked_open_request(request=request, customer=customer, now=now)
    receipt = _receipt_create(request=request, decision=ConsentReceipt.Decision.DECLINED, digest="", now=now)
    _finish(request=request, status=CreditCheckStatus.DECLINED, reason="", now=now)
    return receipt


def disclosed_result_claims(claims: dict[str, Any]) -> tuple[str, int, str] | None:
    """(score band, ceiling in minor units per month, currency) from the disclosed claims, if both are there."""
    band, ceiling = claims.get("scoreBand"), claims.get("affordabilityCeilingPerMonth")
    if band not in SCORE_BANDS or not isinstance(ceiling, dict):
        return None
    amount, currency = ceiling.get("amountMinor"), ceiling.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0 or not isinstance(currency, str):
        return None
    return band, amount, currency


@transaction.atomic
def credit_check_present(
    *, request: CreditCheckRequest, customer: User, presentation: str, now: datetime | None = None
) -> CreditCheckRequest:
    """Consent and present: verify the SD-JWT presentation for this request's challenge and domain, then apply the
    dealer's current policy version. A presentation seen before, one that fails a check, or one without the two
    claims ends the request as ``refused`` with the reason code; nothing is then stored as a verdict.

    Credentials whose anchor leaf still waits for the next anchoring run are accepted (a wrong leaf never is), so a
    customer can use a credential received minutes ago. When the Tangle node cannot be asked about an anchored one,
    nothing is recorded and :class:`AnchorUnverifiable` is raised: an outage is not the customer's refusal."""
    if not presentation.strip():
        raise ValidationFailed("No presentation was sent.", code="presentation_missing")
    now = now or timezone.now()
    request = _locked_open_request(request=request, customer=customer, now=now)
    digest = presentation_hash(presentation)
    is_replay = CreditCheckRequest.objects.filter(presentation_hash=digest).exists()
    _receipt_create(
        request=request, decision=ConsentReceipt.Decision.CONSENTED, digest="" if is_replay else digest, now=now
    )
    if is_replay:
        return _finish(request=request, status=CreditCheckStatus.REFUSED, reason=REPLAYED, now=now)
    request.presentation_hash = digest
    result = presentation_verify(
        presentation=presentation,
        challenge=request.challenge,
        domain=request.domain,
        allow_pending_anchor=True,
        now=now,
    )
    if result.reason is Reason.ANCHOR_UNVERIFIABLE:
        raise AnchorUnverifiable(
            str(_("The credential cannot be checked right now. Please try again in a few minutes."))
        )
    if not result.is_valid:
        return _finish(request=request, status=CreditCheckStatus.REFUSED, reason=str(result.reason), now=now)
    credential = result.credentials[0]
    disclosed = disclosed_result_claims(credential.claims) if CREDENTIAL_TYPE in credential.types else None
    if disclosed is None:
        return _finish(request=request, status=CreditCheckStatus.REFUSED, reason=CLAIMS_MISSING, now=now)
    _verdict_create(request=request, disclosed=disclosed, credential_valid_from=credential.valid_from, now=now)
    return _finish(request=request, status=CreditCheckStatus.DECIDED, reason="", now=now)


def credit_check_decide(
    *,
    request: CreditCheckRequest,
    disclosed: tuple[str, int, str],
    credential_valid_from: datetime | None,
    digest: str,
    now: datetime,
) -> CreditCheckRequest:
    """A verified OpenID4VP answer (see credit_checks.openid4vp): consent receipt, verdict under the dealer's
    current policy version, request decided. ``request`` is locked and open; call inside a transaction."""
    _receipt_create(request=request, decision=ConsentReceipt.Decision.CONSENTED, digest=digest, now=now)
    _verdict_create(request=request, disclosed=disclosed, credential_valid_from=credential_valid_from, now=now)
    return _finish(request=request, status=CreditCheckStatus.DECIDED, reason="", now=now)


def credit_check_end(*, request: CreditCheckRequest, decision: str, reason: str, now: datetime) -> CreditCheckRequest:
    """An OpenID4VP answer that was refused (``reason``) or a wallet that declined: the receipt records it and the
    request ends ``refused`` or ``declined``. ``request`` is locked and open; call inside a transaction."""
    _receipt_create(request=request, decision=decision, digest="", now=now)
    status = CreditCheckStatus.DECLINED if decision == ConsentReceipt.Decision.DECLINED else CreditCheckStatus.REFUSED
    return _finish(request=request, status=status, reason=reason, now=now)


def _verdict_create(
    *,
    request: CreditCheckRequest,
    disclosed: tuple[str, int, str],
    credential_valid_from: datetime | None,
    now: datetime,
) -> CreditCheckVerdict:
    band, ceiling, ceiling_currency = disclosed
    policy = credit_policy_current(dealer_organisation=request.dealer_organisation, purpose=request.purpose)
    outcome = credit_policy_apply(
        policy=policy,
        score_band=band,
        ceiling=ceiling,
        ceiling_currency=ceiling_currency,
        instalment=request.amount,
        currency=request.currency,
        credential_valid_from=credential_valid_from,
        now=now,
    )
    return CreditCheckVerdict.objects.create(
        request=request,
        outcome=outcome.outcome,
        rule_results=list(outcome.rule_results),
        policy=policy,
        disclosed_score_band=band,
        disclosed_ceiling=ceiling,
        disclosed_ceiling_currency=ceiling_currency,
        decided_at=now,
    )


@transaction.atomic
def credit_check_review(*, verdict: CreditCheckVerdict, reviewer: User, outcome: str, reason: str) -> CreditCheckReview:
    """A back-office decision on a referred or declined verdict; the automated verdict stays as recorded."""
    verdict = CreditCheckVerdict.objects.select_for_update().get(pk=verdict.pk)
    if verdict.outcome == CreditCheckVerdict.Outcome.APPROVED and not verdict.contests.exists():
        raise ConflictError("Only referred, declined or contested verdicts are reviewed.", code="review_not_needed")
    if outcome not in CreditCheckReview.Outcome.values:
        raise ValidationFailed("Choose approve or decline.", fields={"outcome": ["Unknown."]})
    if not reason.strip():
        raise ValidationFailed("Give the reason for the decision.", fields={"reason": ["Required."]})
    review = CreditCheckReview.objects.create(
        verdict=verdict, reviewer=reviewer, outcome=outcome, reason=reason.strip()
    )
    webhook_event_create(request=verdict.request)
    return review


@transaction.atomic
def credit_check_contest(*, verdict: CreditCheckVerdict, customer: User, message: str) -> CreditCheckContest:
    """The customer objects to a verdict about them; back office sees it in the review queue."""
    if verdict.request.customer_id != customer.pk:
        raise Http404("No such credit check.")
    if not message.strip():
        raise ValidationFailed("Tell us why you contest the decision.", fields={"message": ["Required."]})
    return CreditCheckContest.objects.create(verdict=verdict, customer=customer, message=message.strip())


@transaction.atomic
def credit_checks_purge_run(*, now: datetime | None = None) -> dict[str, int]:
    """Expire open requests past their deadline (and their OpenID4VP transactions, whose keys are wiped); delete
    requests (with verdicts, receipts, reviews, contests, webhook events and OpenID4VP transactions) created more
    than CREDIT_CHECK_RETENTION_DAYS ago. Safe to run twice."""
    now = now or timezone.now()
    expired = CreditCheckRequest.objects.filter(status=CreditCheckStatus.OPEN, expires_at__lte=now).update(
        status=CreditCheckStatus.EXPIRED, completed_at=now
    )
    presentation_transactions_expire(now=now)
    cutoff = now - timedelta(days=_retention_days())
    stale = CreditCheckRequest.objects.filter(created_at__lt=cutoff)
    purged = stale.count()
    transaction_ids = list(
        stale.exclude(presentation_transaction=None).values_list("presentation_transaction_id", flat=True)
    )
    stale.delete()
    presentation_transactions_delete(ids=transaction_ids)
    return {"expired": expired, "purged": purged}
