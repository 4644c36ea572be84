"""Reads of the identity app that carry a rule (who may see what, what is public)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import DealerOrganisation
from identity.models import (
    AnchorBatch,
    AnchorLeaf,
    CredentialRecord,
    IssuerClient,
    SigningKey,
    StatusList,
    TrustAnchor,
    TrustedIssuer,
)
from identity.services.registry import ISSUER_CLIENT_KEY_PREFIX, issuer_client_hash
from identity.services.trust_anchors import credential_type_label

_LEAF_HASH = re.compile(r"^[0-9a-f]{64}$")


def trusted_issuer_list() -> QuerySet[TrustedIssuer]:
    return TrustedIssuer.objects.annotate(
        active_client_count=Count("clients", filter=Q(clients__revoked_at__isnull=True))
    ).order_by("name", "id")


def trusted_issuer_get(*, issuer_id: int) -> TrustedIssuer:
    issuer = TrustedIssuer.objects.filter(pk=issuer_id).first()
    if issuer is None:
        raise Http404("No such issuer.")
    return issuer


@dataclass(frozen=True)
class TrustAnchorRow:
    """One anchor as the back-office list shows it: the names of its types, not their codes."""

    anchor: TrustAnchor
    type_labels: list[str]
    is_expired: bool


def trust_anchor_list() -> list[TrustAnchorRow]:
    """Every anchor, by name."""
    now = timezone.now()
    anchors = TrustAnchor.objects.select_related("added_by", "suspended_by").order_by("name", "id")
    return [
        TrustAnchorRow(
            anchor=anchor,
            type_labels=[credential_type_label(value) for value in anchor.credential_types],
            is_expired=anchor.not_valid_after <= now,
        )
        for anchor in anchors
    ]


def trust_anchor_get(*, anchor_id: int) -> TrustAnchor:
    anchor = TrustAnchor.objects.filter(pk=anchor_id).first()
    if anchor is None:
        raise Http404("No such trust anchor.")
    return anchor


def issuer_client_list(*, issuer: TrustedIssuer) -> QuerySet[IssuerClient]:
    return issuer.clients.filter(revoked_at__isnull=True).order_by("-created_at", "-id")


def issuer_client_get(*, issuer: TrustedIssuer, client_id: int) -> IssuerClient:
    client = issuer.clients.filter(pk=client_id).first()
    if client is None:
        raise Http404("No such key.")
    return client


def issuer_client_authenticate(*, raw_key: str) -> IssuerClient | None:
    """The active key with this value whose issuer is active and hosted; None otherwise. Records the use."""
    if not raw_key.startswith(ISSUER_CLIENT_KEY_PREFIX):
        return None
    client = (
        IssuerClient.objects.select_related("issuer")
        .filter(key_hash=issuer_client_hash(raw_key), revoked_at__isnull=True)
        .first()
    )
    if client is None or not client.issuer.is_active or not client.issuer.is_hosted:
        return None
    IssuerClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return client


def credential_record_get_for_issuer(*, credential_id: str, issuer_did: str | None) -> CredentialRecord:
    """A credential's record for status changes: any for staff (``issuer_did`` None), only its own for an issuer;
    missing and not-yours are both 404."""
    records = CredentialRecord.objects.filter(credential_id=credential_id)
    if issuer_did is not None:
        records = records.filter(issuer_did=issuer_did)
    record = records.first()
    if record is None:
        raise Http404("No such credential.")
    return record


def credential_record_list(*, limit: int = 100) -> list[CredentialRecord]:
    return list(CredentialRecord.objects.order_by("-issued_at", "-id")[:limit])


def status_list_get(*, list_id: str) -> StatusList:
    status_list = StatusList.objects.filter(list_id=list_id).exclude(published_credential=None).first()
    if status_list is None:
        raise Http404("No such status list.")
    return status_list


def status_list_token_get(*, list_id: str) -> StatusList:
    """A published revocation list (only revocation lists have a Status List Token); 404 otherwise."""
    status_list = (
        StatusList.objects.filter(list_id=list_id, purpose=StatusList.Purpose.REVOCATION)
        .exclude(published_credential=None)
        .first()
    )
    if status_list is None:
        raise Http404("No such status list.")
    return status_list


def anchor_leaf_get(*, leaf_hash: str) -> AnchorLeaf:
    """A leaf by its hash (lower-case hex) with its batch; an unknown or malformed hash is 404."""
    leaf = None
    if _LEAF_HASH.match(leaf_hash):
        leaf = AnchorLeaf.objects.select_related("batch").filter(leaf_hash=leaf_hash).first()
    if leaf is None:
        raise Http404("No such leaf.")
    return leaf


def dealer_organisation_get(*, slug: str) -> DealerOrganisation:
    """A dealer organisation by slug, for its public DID document; unknown is 404."""
    organisation = DealerOrganisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise Http404("No such dealer.")
    return organisation


def signing_key_list() -> list[SigningKey]:
    return list(SigningKey.objects.exclude(controller__startswith="issuer:").order_by("controller", "created_at", "id"))


@dataclass(frozen=True)
class AnchoringOverview:
    """Figures for the back-office dashboard: leaves waiting, leaves anchored, batches waiting for the node."""

    pending_leaves: int
    anchored_leaves: int
    posting_batches: int
    last_batch: AnchorBatch | None


def anchoring_overview() -> AnchoringOverview:
    counts = AnchorLeaf.objects.aggregate(
        pending=Count("id", filter=Q(state=AnchorLeaf.State.PENDING)),
        anchored=Count("id", filter=Q(state=AnchorLeaf.State.ANCHORED)),
    )
    return AnchoringOverview(
        pending_leaves=counts["pending"],
        anchored_leaves=counts["anchored"],
        posting_batches=AnchorBatch.objects.filter(state=AnchorBatch.State.POSTING).count(),
        last_batch=AnchorBatch.objects.filter(state=AnchorBatch.State.ANCHORED).order_by("-anchored_at").first(),
    )
