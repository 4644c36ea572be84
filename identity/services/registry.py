"""Trust registry: back-office staff register external issuers, set the credential types they may issue, suspend
them, and hand them API keys for the VC-API."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.errors import ConflictError, ValidationFailed
from identity.credentials.dids import DidResolutionError, public_key_for_method, public_key_from_did_key
from identity.models import IssuerClient, IssuerKind, TrustedIssuer
from identity.services import keys

logger = logging.getLogger(__name__)

CREDENTIAL_TYPES = ("IdentityCredential", "CreditHistoryCredential", "PaymentHistoryCredential")
"""Credential types an issuer may be registered for."""
PORTAL_CREDENTIAL_TYPES = ("PaymentHistoryCredential",)
"""Types the portal issues under its own did:web (from its own ledger)."""
ISSUER_CLIENT_KEY_PREFIX = "fli_"


def _check_types(credential_types: Sequence[str]) -> list[str]:
    unknown = sorted(set(credential_types) - set(CREDENTIAL_TYPES))
    if unknown or not credential_types:
        raise ValidationFailed(
            gettext_lazy("Choose at least one known credential type."),
            fields={"credential_types": unknown or ["required"]},
        )
    return sorted(set(credential_types))


def _check_external_did(*, did: str, did_document: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A did:key must decode to an Ed25519 key; a did:web needs its pinned document with an assertion key."""
    if did.startswith("did:key:"):
        try:
            public_key_from_did_key(did)
        except DidResolutionError as error:
            raise ValidationFailed(
                gettext_lazy("This is not a valid Ed25519 did:key."), fields={"did": [str(error)]}
            ) from error
        return None
    if not did.startswith("did:web:"):
        raise ValidationFailed(
            gettext_lazy("Only did:key and did:web issuers are supported."), fields={"did": ["unsupported"]}
        )
    if not isinstance(did_document, Mapping) or did_document.get("id") != did:
        raise ValidationFailed(
            gettext_lazy("A did:web issuer needs its DID document, whose id is the DID."),
            fields={"did_document": ["mismatch"]},
        )
    methods = [
        entry if isinstance(entry, str) else entry.get("id") for entry in did_document.get("assertionMethod", [])
    ]
    for method_id in methods:
        try:
            public_key_for_method(did_document=did_document, method_id=str(method_id))
            return dict(did_document)
        except DidResolutionError:
            continue
    raise ValidationFailed(
        gettext_lazy("The DID document lists no usable Ed25519 assertion key."),
        fields={"did_document": ["no_assertion_key"]},
    )


@transaction.atomic
def trusted_issuer_register(
    *,
    name: str,
    kind: str,
    credential_types: Sequence[str],
    did: str | None = None,
    did_document: Mapping[str, Any] | None = None,
) -> TrustedIssuer:
    """Register an issuer. With ``did`` it is external (it signs elsewhere, the portal only trusts it); without, the
    portal makes and hosts a did:key signing key for it, so it can issue through the VC-API and the command."""
    if kind not in IssuerKind.values:
        raise ValidationFailed(gettext_lazy("Unknown issuer kind."), fields={"kind": ["invalid"]})
    types = _check_types(credential_types)
    did = (did or "").strip()
    pinned = _check_external_did(did=did, did_document=did_document) if did else None
    if did and TrustedIssuer.objects.filter(did=did).exists():
        raise ConflictError(
            gettext_lazy("This DID is already registered."), code="issuer_exists", fields={"did": ["exists"]}
        )
    issuer = TrustedIssuer(
        name=name.strip(), kind=kind, did=did or "did:key:pending", did_document=pinned, credential_types=types
    )
    if did:
        issuer.save()
    else:
        issuer.is_hosted = True
        issuer.save()
        _key, issuer.did = keys.hosted_issuer_key_create(issuer_id=issuer.pk)
        try:
            issuer.save(update_fields=["did"])
        except IntegrityError as error:  # a fresh random key's DID cannot already exist
            raise ConflictError(gettext_lazy("This DID is already registered."), code="issuer_exists") from error
    logger.info("trusted issuer %s registered (hosted=%s)", issuer.pk, issuer.is_hosted)
    return issuer


@transaction.atomic
def trusted_issuer_types_set(*, issuer: TrustedIssuer, credential_types: Sequence[str]) -> TrustedIssuer:
    """Change what an issuer may issue; credentials of a type it lost fail verification as untrusted."""
    issuer = TrustedIssuer.objects.select_for_update().get(pk=issuer.pk)
    issuer.credential_types = _check_types(credential_types)
    issuer.save(update_fields=["credential_types"])
    return issuer


@transaction.atomic
def trusted_issuer_suspend(*, issuer: TrustedIssuer) -> TrustedIssuer:
    """Stop trusting an issuer: its credentials verify as ``untrusted_issuer`` and its API keys stop working."""
    issuer = TrustedIssuer.objects.select_for_update().get(pk=issuer.pk)
    if issuer.state != TrustedIssuer.State.SUSPENDED:
        issuer.state = TrustedIssuer.State.SUSPENDED
        issuer.suspended_at = timezone.now()
        issuer.save(update_fields=["state", "suspended_at"])
        logger.info("trusted issuer %s suspended", issuer.pk)
    return issuer


@transaction.atomic
def trusted_issuer_reactivate(*, issuer: TrustedIssuer) -> TrustedIssuer:
    """Trust a suspended issuer again."""
    issuer = TrustedIssuer.objects.select_for_update().get(pk=issuer.pk)
    if issuer.state != TrustedIssuer.State.ACTIVE:
        issuer.state = TrustedIssuer.State.ACTIVE
        issuer.suspended_at = None
        issuer.save(update_fields=["state", "suspended_at"])
        logger.info("trusted issuer %s reactivated", issuer.pk)
    return issuer


def issuer_client_hash(raw: str) -> str:
    """SHA-256 (hex) of a raw issuer key: the only form stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issuer_client_create(*, issuer: TrustedIssuer, name: str) -> tuple[IssuerClient, str]:
    """A new VC-API key for a hosted issuer; the raw key is returned once and never stored."""
    if not issuer.is_hosted:
        raise ValidationFailed(
            gettext_lazy("Only issuers whose key the portal hosts issue through the portal."), code="issuer_not_hosted"
        )
    raw = ISSUER_CLIENT_KEY_PREFIX + secrets.token_urlsafe(32)
    client = IssuerClient.objects.create(
        issuer=issuer, name=name.strip() or "VC-API", prefix=raw[:10], key_hash=issuer_client_hash(raw)
    )
    return client, raw


def issuer_client_revoke(*, client: IssuerClient) -> IssuerClient:
    """Revoke an issuer key; the next request with it is refused."""
    IssuerClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    client.refresh_from_db()
    return client
