"""The lease application's identity check as an OpenID4VP request: a DCQL query for ``age_over_18`` only, from a
PID or the demo KYC provider's identity credential, and what the verified answer or a refusal does.

The lease policy needs to know that the applicant is of age, nothing more; the query asks for no name, birth date or
address, and an answer disclosing more is refused by the verifier (``extra_disclosure``). The verifier hands the
verified claims to :func:`_on_verified` in memory; the check keeps the verdict, the presentation's SHA-256 and a
consent receipt of claim names.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ConflictError
from identity.models import PresentationTransaction
from identity.openid4vci.configurations import credential_configurations
from identity.openid4vci.issuance import type_url
from identity.openid4vp import dcql, transactions, verifier
from identity.openid4vp.transactions import PresentationHandler, VerifiedAnswer, VerifierError
from identity.services.trust_anchors import PID_VCT
from leasing.models import Application, ApplicationStatus, IdentityCheck, IdentityCheckStatus

PURPOSE = "lease_identity_check"
QUERY_ID = "identity"
AGE_CLAIM = "age_over_18"
IDENTITY_CREDENTIAL_TYPE = "IdentityCredential"
CHECK_VALIDITY = timedelta(minutes=30)
"""How long a wallet may take to answer before the customer starts a new check."""
CHECK_CLOSED = "request_closed"
UNDER_18_TEXT = _(
    "A lease needs the holder to be of age. Your wallet showed that you are not over 18, so this application cannot "
    "go on and its identity check cannot be repeated."
)


REFUSAL_TEXTS = {
    "untrusted_issuer": _("The credential's issuer is not in the portal's trust registry."),
    "unknown_issuer": _("The credential's issuer is unknown."),
    "bad_signature": _("The credential's signature does not check out."),
    "disclosure_invalid": _("A disclosed value was changed after the credential was issued."),
    "expired": _("The credential has expired."),
    "not_yet_valid": _("The credential is not valid yet."),
    "revoked": _("The credential was revoked by its issuer."),
    "suspended": _("The credential is suspended by its issuer."),
    "status_unverifiable": _("Whether the credential was revoked could not be checked."),
    "key_binding_missing": _("The wallet did not prove that it holds the credential."),
    "key_binding_invalid": _("The wallet's proof that it holds the credential does not check out."),
    "wrong_nonce": _("The wallet's answer was made for another request (its one-time code does not match)."),
    "wrong_audience": _("The wallet's answer was made for another verifier."),
    "extra_disclosure": _("The wallet disclosed more than whether you are over 18."),
    "dcql_not_satisfied": _("The wallet's answer does not say whether you are over 18."),
    "unsupported_format": _("The wallet answered with a credential format the portal does not accept."),
    "response_replayed": _("This answer was already received once and cannot be used again."),
    "request_expired": _("The request had expired when the wallet answered."),
    "wallet_declined": _("The customer declined in the wallet."),
}


def refusal_text(reason: str) -> str:
    """The words shown for a refusal reason (never the code itself)."""
    return str(REFUSAL_TEXTS.get(reason, _("The wallet's answer was refused.")))


def identity_vct_values() -> tuple[str, ...]:
    """The PID's ``vct`` and the demo KYC provider's identity credential's, while the demo issuers exist."""
    demo = (
        type_url(configuration)
        for configuration in credential_configurations().values()
        if configuration.credential_type == IDENTITY_CREDENTIAL_TYPE
    )
    return tuple(sorted({PID_VCT, *demo}))


def identity_check_query() -> dict[str, object]:
    """The DCQL query: one identity credential, ``age_over_18``, nothing else."""
    return dcql.dcql_query(dcql.CredentialQuery(QUERY_ID, identity_vct_values(), (AGE_CLAIM,)))


@transaction.atomic
def identity_check_start(*, application: Application, now: datetime | None = None) -> IdentityCheck:
    """Open the identity check of an application that is still being decided; an open one is reused."""
    now = now or timezone.now()
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.status not in (ApplicationStatus.CREDIT_CHECK_PENDING, ApplicationStatus.DECISION_PENDING):
        raise ConflictError(_("This application is decided; its identity check is closed."), code="application_decided")
    if identity_check_shows_under_18(application=application):
        raise ConflictError(UNDER_18_TEXT, code="applicant_under_18")
    open_check = application.identity_checks.filter(status=IdentityCheckStatus.OPEN).first()
    if open_check is not None and open_check.presentation_transaction.expires_at > now:
        return open_check
    if open_check is not None:
        _end(open_check, status=IdentityCheckStatus.REFUSED, reason=transactions.REQUEST_EXPIRED, now=now)
    presentation = transactions.presentation_transaction_create(
        purpose=PURPOSE, query=identity_check_query(), expires_at=now + CHECK_VALIDITY, now=now
    )
    try:
        with transaction.atomic():
            return IdentityCheck.objects.create(application=application, presentation_transaction=presentation)
    except IntegrityError as error:  # pragma: no cover - the application row is locked above
        raise ConflictError("An identity check is already open.", code="identity_check_open") from error


def identity_check_passed(*, application: Application) -> bool:
    """Whether the application's customer has shown that they are over 18, which approval needs: an identity check
    answered over OpenID4VP whose credential the verifier accepted (issuer in the trust registry, signature, key
    binding, validity, status) and whose ``age_over_18`` was true."""
    return application.identity_checks.filter(status=IdentityCheckStatus.VERIFIED, is_over_18=True).exists()


def identity_check_shows_under_18(*, application: Application) -> bool:
    """Whether a wallet answered the application's identity check with a verified ``age_over_18`` of false.

    That answer is final for the application: a lease needs the holder to be of age, so no new check is started and
    the application can only be declined."""
    return application.identity_checks.filter(status=IdentityCheckStatus.VERIFIED, is_over_18=False).exists()


def identity_check_links(check: IdentityCheck) -> verifier.AuthorizationRequestLinks | None:
    """The wallet links and QR code of an open check (None once it has ended)."""
    presentation = check.presentation_transaction
    if check.status != IdentityCheckStatus.OPEN or presentation.status != PresentationTransaction.Status.PENDING:
        return None
    return verifier.authorization_request_links(presentation)


def _end(check: IdentityCheck, *, status: str, reason: str, now: datetime, is_over_18: bool | None = None) -> None:
    check.status = status
    check.refusal_reason = reason
    check.is_over_18 = is_over_18
    check.completed_at = now
    check.save(update_fields=["status", "refusal_reason", "is_over_18", "completed_at"])


def _locked_check(presentation: PresentationTransaction) -> IdentityCheck | None:
    return IdentityCheck.objects.select_for_update().filter(presentation_transaction=presentation).first()


def _on_verified(answer: VerifiedAnswer) -> str | None:
    check = _locked_check(answer.transaction)
    if check is None or check.status != IdentityCheckStatus.OPEN:
        raise VerifierError(CHECK_CLOSED, "This identity check was already answered or has ended.")
    presented = answer.presentations[QUERY_ID]
    over_18 = presented.credential.claims.get(AGE_CLAIM)
    if not isinstance(over_18, bool):
        raise VerifierError(transactions.DCQL_NOT_SATISFIED, "The answer does not say whether the holder is over 18.")
    check.presentation_hash = answer.presentation_hash
    check.consent_receipt = {
        "asked": [AGE_CLAIM],
        "disclosed": sorted(presented.disclosed),
        "credential_type": presented.credential_type or "",
        "presented_at": answer.now.isoformat(),
        "presentation_sha256": answer.presentation_hash,
    }
    check.save(update_fields=["presentation_hash", "consent_receipt"])
    _end(check, status=IdentityCheckStatus.VERIFIED, reason="", now=answer.now, is_over_18=over_18)
    path = reverse("leasing:application-detail", args=[check.application_id])
    return verifier.portal_base_url() + path


def _on_refused(presentation: PresentationTransaction, reason: str) -> None:
    check = _locked_check(presentation)
    if check is None or check.status != IdentityCheckStatus.OPEN:
        return
    _end(check, status=IdentityCheckStatus.REFUSED, reason=reason, now=presentation.completed_at or timezone.now())


def identity_check_handler_register() -> None:
    """Called from the app's ready(): identity's verifier hands identity-check answers to this module."""
    transactions.presentation_handler_register(
        PURPOSE,
        PresentationHandler(verified=transaction.atomic(_on_verified), refused=transaction.atomic(_on_refused)),
    )
