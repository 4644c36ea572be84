"""Demo data of the identity app for `make run`: keys and DIDs, the demo issuers, idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import DealerOrganisation
from identity.services import keys, wallet


@dataclass(frozen=True)
class IdentityDemo:
    """What the demo set up: the portal's DID and the demo issuers' DIDs."""

    portal_did: str
    kyc_issuer_did: str
    bureau_issuer_did: str


def identity_demo_data_load() -> IdentityDemo:
    """Make the portal's and every dealer's signing key, and register the demo KYC provider and credit bureau as
    hosted issuers. Running it again changes nothing."""
    keys.signing_key_active_get_or_create(controller=keys.PORTAL_CONTROLLER)
    for slug in DealerOrganisation.objects.values_list("slug", flat=True):
        keys.signing_key_active_get_or_create(controller=keys.dealer_controller(slug))
    kyc_issuer, bureau_issuer = wallet.wallet_demo_issuers_ensure()
    return IdentityDemo(
        portal_did=keys.portal_did(), kyc_issuer_did=kyc_issuer.did, bureau_issuer_did=bureau_issuer.did
    )
