"""DID documents the portal can resolve without the network: derived ``did:key``, the portal's and its dealers'
``did:web``, and the documents pinned for registered issuers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity.credentials.dids import DidResolutionError, resolve_did_key
from identity.models import TrustedIssuer
from identity.services import keys


def did_document_resolve(did: str) -> Mapping[str, Any]:
    """DID document of ``did`` without network access; an unknown DID raises DidResolutionError."""
    if did.startswith("did:key:"):
        return resolve_did_key(did)
    if did == keys.portal_did():
        return keys.portal_did_document()
    dealer_prefix = keys.portal_did() + ":dealers:"
    if did.startswith(dealer_prefix):
        from accounts.models import DealerOrganisation

        slug = did.removeprefix(dealer_prefix)
        if DealerOrganisation.objects.filter(slug=slug).exists():
            return keys.dealer_did_document(slug=slug)
    issuer = TrustedIssuer.objects.filter(did=did).exclude(did_document=None).first()
    if issuer is None:
        raise DidResolutionError(f"unknown DID {did!r}")
    return issuer.did_document
