"""Demo credentials for the customer's browser wallet, issued by the demo KYC provider and demo credit bureau
through the same issuance service as any registered issuer. The result goes to the browser only."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.errors import ApplicationError, ValidationFailed
from identity.credentials.dids import DidResolutionError, public_key_from_did_key
from identity.credentials.types import build_credit_history_credential, build_identity_credential
from identity.models import IssuerKind, TrustedIssuer
from identity.services import issuance, registry


class DemoIssuersDisabled(ApplicationError):
    """The demo issuers are switched off (always in production): 404 with code `demo_issuers_disabled`."""

    status = 404
    code = "demo_issuers_disabled"


DEMO_KYC_ISSUER_NAME = "FinLab Demo KYC Provider"
DEMO_BUREAU_ISSUER_NAME = "FinLab Demo Credit Bureau"
DEMO_CREDIT_POLICY_URL = "https://bureau.demo.finlab.test/policies/credit-bands/v1"
DEMO_KINDS = ("identity", "credit_history")
_DEMO_VALIDITY = timedelta(days=180)


@transaction.atomic
def wallet_demo_issuers_ensure() -> tuple[TrustedIssuer, TrustedIssuer]:
    """The demo KYC provider and credit bureau, registered as hosted issuers on first use (idempotent)."""
    found = []
    for name, kind, credential_type in (
        (DEMO_KYC_ISSUER_NAME, IssuerKind.KYC_PROVIDER, "IdentityCredential"),
        (DEMO_BUREAU_ISSUER_NAME, IssuerKind.CREDIT_BUREAU, "CreditHistoryCredential"),
    ):
        issuer = TrustedIssuer.objects.select_for_update().filter(name=name, is_hosted=True).first()
        if issuer is None:
            issuer = registry.trusted_issuer_register(name=name, kind=kind, credential_types=[credential_type])
        found.append(issuer)
    return found[0], found[1]


def wallet_demo_credential_issue(*, kind: str, holder_did: str, securing_format: str) -> issuance.IssuedCredential:
    """Issue a demo identity (verified, adult, DE) or credit-history (band B, 650.00 EUR a month) credential to the
    browser wallet's ``did:key``."""
    if not settings.IDENTITY_DEMO_ISSUERS:
        raise DemoIssuersDisabled("The demo issuers are not available here; ask your bank or bureau for a credential.")
    if kind not in DEMO_KINDS:
        raise ValidationFailed(gettext_lazy("Unknown demo credential."), fields={"kind": list(DEMO_KINDS)})
    try:
        public_key_from_did_key(holder_did)
    except DidResolutionError as error:
        raise ValidationFailed(
            gettext_lazy("The wallet's DID must be an Ed25519 did:key."), fields={"holderDid": ["invalid"]}
        ) from error
    kyc_issuer, bureau_issuer = wallet_demo_issuers_ensure()
    issuer = kyc_issuer if kind == "identity" else bureau_issuer
    now = timezone.now().replace(microsecond=0)
    common = {
        "credential_id": f"urn:uuid:{uuid.uuid4()}",
        "issuer": issuer.did,
        "subject_did": holder_did,
        "valid_from": now,
        "valid_until": now + _DEMO_VALIDITY,
    }
    if kind == "identity":
        credential = build_identity_credential(**common, is_verified=True, is_over_18=True, country_code="DE")
    else:
        credential = build_credit_history_credential(
            **common,
            score_band="B",
            affordability_ceiling_minor=65_000,
            currency="EUR",
            negative_record_band="none",
            as_of=now.date(),
            issuer_policy=DEMO_CREDIT_POLICY_URL,
        )
    party = issuance.issuing_party_for_issuer(issuer=issuer)
    return issuance.credential_issue(party=party, credential=credential, securing_format=securing_format, now=now)
