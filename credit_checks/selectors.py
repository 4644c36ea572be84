"""Reads of the credit-check flow, scoped to who may see them (a missing and a not-yours request are both 404)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from credit_checks.models import (
    ConsentReceipt,
    CreditCheckContest,
    CreditCheckRequest,
    CreditCheckReview,
    CreditCheckStatus,
    CreditCheckVerdict,
)
from leasing.services.credit_verdicts import LeaseApplicationVerdict

REFUSAL_TEXTS = {
    "malformed": _("The presentation could not be read."),
    "bad_signature": _("The credential's signature does not check out."),
    "unknown_issuer": _("The credential's issuer is unknown."),
    "untrusted_issuer": _("The credential's issuer is not in the portal's trust registry."),
    "not_yet_valid": _("The credential is not valid yet."),
    "expired": _("The credential has expired."),
    "revoked": _("The credential was revoked by its issuer."),
    "suspended": _("The credential is suspended by its issuer."),
    "status_unverifiable": _("Whether the credential was revoked could not be checked."),
    "wrong_holder": _("The presentation was not made by the credential's holder."),
    "wrong_challenge": _("The presentation was made for another credit-check request."),
    "wrong_domain": _("The presentation was made for another dealer."),
    "anchor_missing": _("The credential's anchor on the Tangle is missing."),
    "anchor_invalid": _("The credential's anchor on the Tangle does not match."),
    "anchor_unverifiable": _("The credential's anchor on the Tangle could not be checked; try again later."),
    "presentation_replayed": _("This presentation was already used once and cannot be used again."),
    "claims_missing": _("The presentation does not contain the score band and affordability ceiling."),
    "wrong_nonce": _("The wallet's answer was made for another request (its one-time code does not match)."),
    "wrong_audience": _("The wallet's answer was made for another verifier."),
    "wrong_state": _("The wallet's answer does not belong to this request."),
    "key_binding_missing": _("The wallet did not prove that it holds the credential."),
    "key_binding_invalid": _("The wallet's proof that it holds the credential does not check out."),
    "key_binding_stale": _("The wallet's proof that it holds the credential is too old."),
    "disclosure_invalid": _("A disclosed value was changed after the credential was issued."),
    "extra_disclosure": _("The wallet disclosed more than the score band and affordability ceiling."),
    "dcql_not_satisfied": _("The wallet's answer does not contain the credit results that were asked for."),
    "unsupported_format": _("The wallet answered with a credential format the portal does not accept."),
    "response_replayed": _("This answer was already received once and cannot be used again."),
    "response_for_another_request": _("The wallet's answer was made for another credit-check request."),
    "response_not_encrypted": _("The wallet's answer was not encrypted as the request asked."),
    "response_undecryptable": _("The wallet's answer could not be decrypted."),
    "request_expired": _("The request had expired when the wallet answered."),
    "request_closed": _("The request had already been answered or ended."),
    "wallet_declined": _("The customer declined in the wallet."),
    "wallet_error": _("The wallet could not answer the request."),
}


RULE_TEXTS = {
    "all_rules_passed": _("Every rule of the policy is met."),
    "score_band_below_referral": _("The score band is below the lowest band the policy refers to a person."),
    "score_band_below_minimum": _("The score band is below the policy's minimum band; a person decides."),
    "ceiling_currency_differs": _("The affordability ceiling is in another currency; a person compares them."),
    "ceiling_below_instalment": _("The affordability ceiling is below the requested instalment."),
    "credential_too_old": _("The credit credential is older than the policy accepts; a person decides."),
}


def rule_texts(codes: Collection[str]) -> list[str]:
    """Plain words for the policy rules a verdict names, in the verdict's order."""
    return [str(RULE_TEXTS.get(code, code)) for code in codes]


def refusal_text(code: str) -> str:
    """Plain words for a refusal code, shown to dealer and customer alike."""
    return str(REFUSAL_TEXTS.get(code, _("The presentation was refused.")))


def _base() -> QuerySet[CreditCheckRequest]:
    return CreditCheckRequest.objects.select_related("dealer_organisation", "verdict__policy", "consent_receipt")


def credit_check_list_for_dealer(*, user: User) -> QuerySet[CreditCheckRequest]:
    """The requests of the dealer user's organisation, newest first."""
    return _base().filter(dealer_organisation_id=user.dealer_organisation_id or -1)


def credit_check_get_for_dealer(*, user: User, request_id: int | str, by_public_id: bool = False) -> CreditCheckRequest:
    lookup = {"public_id": request_id} if by_public_id else {"pk": request_id}
    request = credit_check_list_for_dealer(user=user).filter(**lookup).first()
    if request is None:
        raise Http404("No such credit check.")
    return request


def credit_check_list_for_customer(*, user: User) -> QuerySet[CreditCheckRequest]:
    return _base().filter(customer=user)


def credit_check_get_for_customer(*, user: User, request_id: int) -> CreditCheckRequest:
    request = credit_check_list_for_customer(user=user).filter(pk=request_id).first()
    if request is None:
        raise Http404("No such credit check.")
    return request


def credit_check_review_queue() -> QuerySet[CreditCheckVerdict]:
    """Verdicts a person must look at: referred or declined ones not reviewed yet, and contested ones whose latest
    contest came after the latest review; oldest first."""
    last_review = Subquery(
        CreditCheckReview.objects.filter(verdict=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    )
    last_contest = Subquery(
        CreditCheckContest.objects.filter(verdict=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    )
    unreviewed = Q(outcome__in=["referred", "declined"], last_review__isnull=True)
    contested = Q(last_contest__isnull=False) & (Q(last_review__isnull=True) | Q(last_review__lt=F("last_contest")))
    return (
        CreditCheckVerdict.objects.select_related("request__dealer_organisation", "policy")
        .annotate(last_review=last_review, last_contest=last_contest)
        .filter(unreviewed | contested)
        .order_by("decided_at", "id")
    )


def credit_check_verdict_get_for_back_office(*, verdict_id: int) -> CreditCheckVerdict:
    verdict = (
        CreditCheckVerdict.objects.select_related("request__dealer_organisation", "policy")
        .prefetch_related("reviews", "contests")
        .filter(pk=verdict_id)
        .first()
    )
    if verdict is None:
        raise Http404("No such verdict.")
    return verdict


def _verdict_view(verdict: CreditCheckVerdict) -> dict[str, Any]:
    latest_review = verdict.reviews.order_by("-created_at", "-id").first()
    return {
        "outcome": verdict.outcome,
        "rules": list(verdict.rule_results),
        "policyVersion": verdict.policy.version,
        "decidedAt": verdict.decided_at.isoformat(),
        "disclosedClaims": {
            "scoreBand": verdict.disclosed_score_band,
            "affordabilityCeilingPerMonth": {
                "amountMinor": verdict.disclosed_ceiling,
                "currency": verdict.disclosed_ceiling_currency,
            },
        },
        "review": None
        if latest_review is None
        else {"outcome": latest_review.outcome, "reviewedAt": latest_review.created_at.isoformat()},
    }


def credit_check_public_view(*, request: CreditCheckRequest) -> dict[str, Any]:
    """What the dealer's systems see of a request (poll API and webhook): terms, status, refusal, verdict."""
    verdict = CreditCheckVerdict.objects.filter(request=request).select_related("policy").first()
    return {
        "id": str(request.public_id),
        "purpose": request.purpose,
        "amount": request.amount,
        "currency": request.currency,
        "termMonths": request.term_months,
        "status": request.status,
        "refusalReason": request.refusal_reason or None,
        "expiresAt": request.expires_at.isoformat(),
        "verdict": None if verdict is None else _verdict_view(verdict),
    }


def consent_receipt_document(*, receipt: ConsentReceipt) -> dict[str, Any]:
    """The receipt as the customer downloads it (JSON)."""
    return {
        "receiptId": str(receipt.receipt_id),
        "requestId": str(receipt.request.public_id),
        "userId": receipt.user_id_at_consent,
        "decision": receipt.decision,
        "claims": list(receipt.claims),
        "purpose": receipt.purpose,
        "retentionDays": receipt.retention_days,
        "dealerDid": receipt.dealer_did,
        "presentationSha256": receipt.presentation_hash or None,
        "recordedAt": receipt.created_at.isoformat(),
    }


def credit_check_is_open(request: CreditCheckRequest) -> bool:
    return request.status == CreditCheckStatus.OPEN


def money_text(*, amount: int, currency: str) -> str:
    """Minor units shown in major units with two decimals, e.g. 65000 EUR -> "650.00 EUR"."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d} {currency}"


def credit_check_display(*, request: CreditCheckRequest) -> CreditCheckRequest:
    """The request with the texts its pages show: instalment, disclosed ceiling and refusal reason."""
    request.amount_text = money_text(amount=request.amount, currency=request.currency)  # type: ignore[attr-defined]
    request.refusal_text = refusal_text(request.refusal_reason) if request.refusal_reason else ""  # type: ignore[attr-defined]
    verdict = getattr(request, "verdict", None) if request.status == CreditCheckStatus.DECIDED else None
    if verdict is not None:
        verdict.ceiling_text = money_text(amount=verdict.disclosed_ceiling, currency=verdict.disclosed_ceiling_currency)
        verdict.rule_texts = rule_texts(verdict.rule_results)
    return request


def credit_check_verdicts_for_lease_applications(*, application_ids: Collection[int]) -> list[LeaseApplicationVerdict]:
    """Every recorded verdict whose request names one of ``application_ids``, oldest first: leasing's
    `CreditVerdictSource`, registered at start-up (leasing never imports this app).

    All of them, not just the latest: any dealer may type any number, so the caller picks the first one whose
    organisation and customer match the application and whose terms cover it."""
    if not application_ids:
        return []
    verdicts = (
        CreditCheckVerdict.objects.filter(
            request__lease_application_id__in=list(application_ids),
            request__status=CreditCheckStatus.DECIDED,
            request__customer__isnull=False,
        )
        .select_related("request")
        .order_by("decided_at", "id")
    )
    return [
        LeaseApplicationVerdict(
            application_id=verdict.request.lease_application_id,
            outcome=verdict.outcome,
            public_id=str(verdict.request.public_id),
            dealer_organisation_id=verdict.request.dealer_organisation_id,
            customer_id=verdict.request.customer_id,
            decided_at=verdict.decided_at,
            purpose=verdict.request.purpose,
            amount=verdict.request.amount,
            currency=verdict.request.currency,
            term_months=verdict.request.term_months,
        )
        for verdict in verdicts
    ]
