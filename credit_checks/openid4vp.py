"""The dealer's credit check as an OpenID4VP request: a DCQL query for exactly the score band and the affordability
ceiling of a credit-history SD-JWT VC, and what a verified answer or a refusal does to the credit check.

identity.openid4vp runs the protocol and the checks; it hands the verified claims to :func:`_on_verified` in memory,
inside the response's database transaction. The credit check keeps what its models allow: the verdict with the two
result claims, the consent receipt and the presentation's SHA-256.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.sql import CompiledQuery, row_with
from credit_checks.models import ConsentReceipt, CreditCheckRequest, CreditCheckStatus
from identity.models import PresentationTransaction
from identity.openid4vci.configurations import credential_configurations
from identity.openid4vci.issuance import type_url
from identity.openid4vp import dcql, transactions, verifier
from identity.openid4vp.transactions import PresentationHandler, VerifiedAnswer, VerifierError
from identity.services.trust_anchors import CREDIT_HISTORY_VCT

PURPOSE = "credit_check"
QUERY_ID = "credit"
CREDENTIAL_TYPE = "CreditHistoryCredential"
REQUESTED_CLAIMS = ("scoreBand", "affordabilityCeilingPerMonth")
REQUEST_CLOSED = "request_closed"


def credit_history_vct_values() -> tuple[str, ...]:
    """The ``vct`` of every credit-history credential the portal knows: the shared type outside bureaus issue
    (trusted through an X.509 anchor) and the demo bureau's while it exists."""
    portal_types = (
        type_url(configuration)
        for configuration in credential_configurations().values()
        if configuration.credential_type == CREDENTIAL_TYPE
    )
    return tuple(sorted({CREDIT_HISTORY_VCT, *portal_types}))


def credit_check_query() -> dict[str, object]:
    """The DCQL query: one credit-history SD-JWT VC, score band and affordability ceiling, nothing else."""
    return dcql.dcql_query(dcql.CredentialQuery(QUERY_ID, credit_history_vct_values(), REQUESTED_CLAIMS))


def credit_check_transaction_create(*, request: CreditCheckRequest) -> PresentationTransaction:
    """Open the OpenID4VP authorization request of a credit check; it ends when the credit check expires."""
    presentation = transactions.presentation_transaction_create(
        purpose=PURPOSE, query=credit_check_query(), expires_at=request.expires_at, now=request.created_at
    )
    request.presentation_transaction = presentation
    request.save(update_fields=["presentation_transaction"])
    return presentation


def credit_check_links(request: CreditCheckRequest) -> verifier.AuthorizationRequestLinks | None:
    """The wallet link, the browser-wallet link and the QR code of an open credit check (None once answered)."""
    presentation = request.presentation_transaction
    if presentation is None or presentation.status != PresentationTransaction.Status.PENDING:
        return None
    return verifier.authorization_request_links(presentation)


# Compiled once per process: every wallet's answer to a credit check reads both.
_REQUEST_LOCKED = CompiledQuery(
    lambda *, presentation_id: CreditCheckRequest.objects.select_related("dealer_organisation")
    .select_for_update(of=("self",))
    .filter(presentation_transaction_id=presentation_id)[:1],
    presentation_id=int,
)
_REQUEST_WITH_PRESENTATION = row_with(CreditCheckRequest, "presentation_hash", str)


def _locked_request(presentation: PresentationTransaction) -> CreditCheckRequest | None:
    """The credit check, locked, with its dealer organisation (whose policy decides it) read in the same query; only
    the request's row is locked."""
    return _REQUEST_LOCKED.first(presentation_id=presentation.pk)


def _on_verified(answer: VerifiedAnswer) -> str | None:
    from credit_checks import services

    request = _locked_request(answer.transaction)
    if request is None or request.status != CreditCheckStatus.OPEN:
        raise VerifierError(REQUEST_CLOSED, "This credit check was already answered or has ended.")
    if request.expires_at <= answer.now:
        raise VerifierError(transactions.REQUEST_EXPIRED, "This credit check has expired.")
    presented = answer.presentations[QUERY_ID]
    disclosed = services.disclosed_result_claims(presented.credential.claims)
    if disclosed is None or presented.credential_type != CREDENTIAL_TYPE:
        raise VerifierError(transactions.DCQL_NOT_SATISFIED, "The score band and affordability ceiling are unusable.")
    if _REQUEST_WITH_PRESENTATION.fetch(presentation_hash=answer.presentation_hash):
        raise VerifierError(transactions.RESPONSE_REPLAYED, "This presentation has been used before.")
    request.presentation_hash = answer.presentation_hash
    services.credit_check_decide(
        request=request,
        disclosed=disclosed,
        credential_valid_from=presented.credential.valid_from,
        digest=answer.presentation_hash,
        now=answer.now,
    )
    if request.customer_id is None:
        return None
    return verifier.portal_base_url() + reverse("credit_checks:credit-check-mine", args=[request.pk])


def _on_refused(presentation: PresentationTransaction, reason: str) -> None:
    from credit_checks import services

    request = _locked_request(presentation)
    if request is None or request.status != CreditCheckStatus.OPEN:
        return
    now = presentation.completed_at or timezone.now()
    if reason == transactions.WALLET_DECLINED:
        services.credit_check_end(request=request, decision=ConsentReceipt.Decision.DECLINED, reason="", now=now)
    else:
        services.credit_check_end(request=request, decision=ConsentReceipt.Decision.CONSENTED, reason=reason, now=now)


def credit_check_handler_register() -> None:
    """Called from the app's ready(): identity's verifier hands credit-check answers to this module."""
    transactions.presentation_handler_register(
        PURPOSE,
        PresentationHandler(verified=transaction.atomic(_on_verified), refused=transaction.atomic(_on_refused)),
    )
