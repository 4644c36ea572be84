"""Fixtures of the credit-check tests: a credit bureau issuing SD-JWT credit credentials to a wallet, and the
presentation the wallet makes for a request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from credit_checks.models import CreditCheckRequest
from credit_checks.services import REQUESTED_CLAIMS, credit_check_request_create
from identity.credentials.sd_jwt import present_sd_jwt
from identity.credentials.types import build_credit_history_credential
from identity.models import TrustedIssuer
from identity.services import issuance, registry
from identity.tests import conftest as identity_fixtures
from identity.tests.conftest import Wallet

# Identity's fixtures (a wallet, the in-memory Tangle the verifier checks anchors on) serve these tests too.
wallet = identity_fixtures.wallet
memory_tangle = identity_fixtures.memory_tangle
verifier_on_memory_tangle = identity_fixtures.verifier_on_memory_tangle
anchor_now = identity_fixtures.anchor_now
bureau = identity_fixtures.bureau
issuer_client_for = identity_fixtures.issuer_client_for
bureau_client = identity_fixtures.bureau_client

NAME = "Ottoline Brackenridge"
INCOME = 87_431_00


def credit_sd_jwt(
    *,
    issuer: TrustedIssuer,
    wallet: Wallet | None = None,
    holder_did: str = "",
    band: str = "B",
    ceiling: int = 650_00,
    days_old: int = 0,
    issuer_policy: str = "https://bureau.test/policy",
    **extra,
) -> issuance.IssuedCredential:
    """A credit-history SD-JWT VC for the wallet, issued by a hosted issuer ``days_old`` days ago. ``extra`` adds
    personal claims (name, income) the wallet must never disclose."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_old)
    credential = build_credit_history_credential(
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        issuer=issuer.did,
        subject_did=holder_did or wallet.did,
        score_band=band,
        affordability_ceiling_minor=ceiling,
        currency="EUR",
        negative_record_band="none",
        as_of=now.date(),
        issuer_policy=issuer_policy,
        valid_from=now,
        valid_until=now + timedelta(days=180),
    )
    credential["credentialSubject"] |= extra
    party = issuance.issuing_party_for_issuer(issuer=issuer)
    return issuance.credential_issue(party=party, credential=credential, securing_format="sd-jwt", now=now)


def present(
    *, sd_jwt: str, wallet: Wallet, request: CreditCheckRequest, disclose=REQUESTED_CLAIMS, challenge=None, domain=None
) -> str:
    return present_sd_jwt(
        sd_jwt=sd_jwt,
        disclose=list(disclose),
        holder_private_key=wallet.private_key,
        challenge=challenge or request.challenge,
        domain=domain or request.domain,
        issued_at=datetime.now(UTC),
    )


@pytest.fixture
def credit_bureau(db: None) -> TrustedIssuer:
    return registry.trusted_issuer_register(
        name="Bureau Nord", kind="credit_bureau", credential_types=["CreditHistoryCredential"]
    )


@pytest.fixture
def issue_credit(credit_bureau: TrustedIssuer, wallet: Wallet) -> Callable[..., str]:
    def issue(**kwargs) -> str:
        return credit_sd_jwt(issuer=credit_bureau, wallet=wallet, **kwargs).verifiable_credential

    return issue


@pytest.fixture
def open_request(dealer, customer) -> Callable[..., CreditCheckRequest]:
    """A request of the dealer's organisation, already opened (claimed) by the customer."""
    from credit_checks.services import credit_check_claim

    def make(
        *, amount: int = 450_00, purpose: str = "lease", dealer_user=None, customer_user=None
    ) -> CreditCheckRequest:
        request = credit_check_request_create(
            dealer_user=dealer_user or dealer, purpose=purpose, amount=amount, currency="EUR", term_months=36
        )
        return credit_check_claim(link_token=request.link_token, customer=customer_user or customer)

    return make
