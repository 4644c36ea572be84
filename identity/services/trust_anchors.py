"""X.509 trust anchors of the trust registry: back office adds, suspends and reactivates them; verifiers ask which
anchors vouch for a credential type.

An SD-JWT VC signed with an ``x5c`` chain is from a trusted issuer when the chain leads to an *active* anchor whose
credential types include the credential's type. Types are the registry's type names; a credential's ``vct`` is
mapped to one by :func:`credential_type_for_vct` (the EU PID's ``urn:eudi:pid:1``, the shared credit-history type
outside bureaus issue, and the ``vct`` URLs of the portal's own credential configurations).

The portal's own issuing CA is an anchor like any other (for the types the portal signs with it), added the first
time anchors are read, so back office sees it in the list and could suspend it too.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import ConflictError, ValidationFailed
from identity.credentials.x509 import certificate_to_der, certificate_to_pem
from identity.models import TrustAnchor
from identity.openid4vci import certificates
from identity.openid4vci.configurations import (
    SignedBy,
    credential_configuration_by_type_name,
    credential_configurations,
)
from identity.services.registry import CREDENTIAL_TYPES

logger = logging.getLogger(__name__)

PID_TYPE = "PersonIdentificationData"
PID_VCT = "urn:eudi:pid:1"
CREDIT_HISTORY_VCT = "urn:finlab:credit-history:1"
"""The ``vct`` an outside credit bureau issues its credit-history SD-JWT VC under (claims ``scoreBand`` and
``affordabilityCeilingPerMonth`` like the portal's demo bureau)."""
ANCHOR_CREDENTIAL_TYPES = (PID_TYPE, *CREDENTIAL_TYPES)
"""Credential types an anchor may vouch for."""
_VCT_TYPES = {PID_VCT: PID_TYPE, CREDIT_HISTORY_VCT: "CreditHistoryCredential"}
PORTAL_ANCHOR_NAME = "FinLab Credential Issuing CA"
portal_anchors_seen: set[bytes] = set()  # DER of portal CAs whose anchor row this process has seen


_TYPE_LABELS = {
    PID_TYPE: gettext_lazy("Person identification data (PID)"),
    "IdentityCredential": gettext_lazy("Identity"),
    "CreditHistoryCredential": gettext_lazy("Credit history"),
    "PaymentHistoryCredential": gettext_lazy("Payment history"),
}


def credential_type_label(type_name: str) -> str:
    """The name people read for a credential type (in the active language)."""
    return str(_TYPE_LABELS.get(type_name, type_name))


def credential_type_for_vct(vct: str) -> str | None:
    """The registry's type name for a credential's ``vct`` (or for a type name itself); None when unknown."""
    if vct in ANCHOR_CREDENTIAL_TYPES:
        return vct
    if vct in _VCT_TYPES:
        return _VCT_TYPES[vct]
    prefix = f"{certificates.credential_issuer_url()}/credentials/types/"
    if vct.startswith(prefix):
        configuration = credential_configuration_by_type_name(vct.removeprefix(prefix))
        return configuration.credential_type if configuration is not None else None
    return None


def trust_anchors_for(credential_type: str) -> list[x509.Certificate]:
    """Certificates of the active anchors that vouch for ``credential_type`` (a type name or a ``vct``); an
    unknown type has none. Each call reads the registry, so a suspension counts from the next verification on, in
    every process; only what never changes for a given text is kept in the process (the parsed certificate of a
    PEM, and that the portal's CA of a given DER is an anchor already)."""
    type_name = credential_type_for_vct(credential_type)
    if type_name is None:
        return []
    portal_trust_anchor_ensure()
    rows = TrustAnchor.objects.filter(state=TrustAnchor.State.ACTIVE).values_list("certificate_pem", "credential_types")
    # filtered here, not by a JSON containment query, which SQLite (the embedded default) does not support
    return [_certificate_from_pem(pem) for pem, types in rows if type_name in types]


@functools.lru_cache(maxsize=256)
def _certificate_from_pem(pem: str) -> x509.Certificate:
    """The certificate of a stored anchor's PEM text (the same text always gives the same certificate)."""
    return x509.load_pem_x509_certificate(pem.encode("ascii"))


def portal_anchor_types() -> list[str]:
    """The types the portal signs with its X.509 issuer key (its configurations signed ``portal_x509``)."""
    configurations = credential_configurations().values()
    return sorted({item.credential_type for item in configurations if item.signed_by == SignedBy.PORTAL_X509})


def portal_trust_anchor_ensure() -> None:
    """Add the portal's active issuing CA as an anchor for the portal's own types, unless it is there already
    (in whatever state back office left it). An anchor is never deleted, so once this process has seen the row of
    a CA it does not ask again for that CA."""
    der = bytes(certificates.portal_issuing_ca().certificate_der)
    if der in portal_anchors_seen:
        return
    certificate = x509.load_der_x509_certificate(der)
    fingerprint = fingerprint_of(certificate)
    if TrustAnchor.objects.filter(fingerprint_sha256=fingerprint).exists():
        portal_anchors_seen.add(der)
        return
    try:
        with transaction.atomic():
            TrustAnchor.objects.create(
                name=PORTAL_ANCHOR_NAME,
                certificate_pem=certificate_to_pem(certificate),
                fingerprint_sha256=fingerprint,
                subject=certificate.subject.rfc4514_string(),
                not_valid_after=certificate.not_valid_after_utc,
                credential_types=portal_anchor_types() or ["PaymentHistoryCredential"],
            )
    except IntegrityError:
        return  # another request added it first
    logger.info("portal issuing CA added as trust anchor %s", fingerprint[:16])


def fingerprint_of(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lower-case hex: how people compare an anchor with its publisher's."""
    return hashlib.sha256(certificate_to_der(certificate)).hexdigest()


def _pem_refused(message: object) -> ValidationFailed:
    return ValidationFailed(message, code="trust_anchor_invalid", fields={"certificate": ["invalid"]})


def anchor_certificate_check(*, pem: str, now: datetime) -> x509.Certificate:
    """Parse one PEM certificate and check it can be an anchor: a CA certificate (basic constraints, and key usage
    allowing certificate signing when present), valid now, with a P-256 or Ed25519 key."""
    try:
        found = x509.load_pem_x509_certificates(pem.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise _pem_refused(gettext_lazy("This is not a PEM certificate.")) from None
    if len(found) != 1:
        raise _pem_refused(gettext_lazy("Upload exactly one certificate."))
    certificate = found[0]
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise _pem_refused(gettext_lazy("This is not a CA certificate."))
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise _pem_refused(gettext_lazy("This certificate may not sign certificates."))
    if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
        raise _pem_refused(gettext_lazy("This certificate is expired or not valid yet."))
    key = certificate.public_key()
    is_p256 = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    if not is_p256 and not isinstance(key, Ed25519PublicKey):
        raise _pem_refused(gettext_lazy("Only P-256 and Ed25519 keys are accepted."))
    return certificate


def _check_anchor_types(credential_types: Sequence[str]) -> list[str]:
    unknown = sorted(set(credential_types) - set(ANCHOR_CREDENTIAL_TYPES))
    if unknown or not credential_types:
        raise ValidationFailed(
            gettext_lazy("Choose at least one known credential type."),
            fields={"credential_types": unknown or ["required"]},
        )
    return sorted(set(credential_types))


@transaction.atomic
def trust_anchor_add(*, name: str, pem: str, credential_types: Sequence[str], added_by: User) -> TrustAnchor:
    """Trust a CA certificate to vouch for issuers of ``credential_types``; the same certificate twice is refused."""
    types = _check_anchor_types(credential_types)
    certificate = anchor_certificate_check(pem=pem, now=timezone.now())
    fingerprint = fingerprint_of(certificate)
    if TrustAnchor.objects.filter(fingerprint_sha256=fingerprint).exists():
        raise ConflictError(
            gettext_lazy("This certificate is already a trust anchor."),
            code="trust_anchor_exists",
            fields={"certificate": ["exists"]},
        )
    anchor = TrustAnchor.objects.create(
        name=name.strip(),
        certificate_pem=certificate_to_pem(certificate),
        fingerprint_sha256=fingerprint,
        subject=certificate.subject.rfc4514_string(),
        not_valid_after=certificate.not_valid_after_utc,
        credential_types=types,
        added_by=added_by,
    )
    logger.info("trust anchor %s added by user %s", anchor.pk, added_by.pk)
    return anchor


@transaction.atomic
def trust_anchor_suspend(*, anchor: TrustAnchor, suspended_by: User) -> TrustAnchor:
    """Stop trusting an anchor: credentials chained to it verify as ``untrusted_issuer`` from now on."""
    anchor = TrustAnchor.objects.select_for_update().get(pk=anchor.pk)
    if anchor.state != TrustAnchor.State.SUSPENDED:
        anchor.state = TrustAnchor.State.SUSPENDED
        anchor.suspended_at = timezone.now()
        anchor.suspended_by = suspended_by
        anchor.save(update_fields=["state", "suspended_at", "suspended_by"])
        logger.info("trust anchor %s suspended by user %s", anchor.pk, suspended_by.pk)
    return anchor


@transaction.atomic
def trust_anchor_reactivate(*, anchor: TrustAnchor, reactivated_by: User) -> TrustAnchor:
    """Trust a suspended anchor again (who suspended it stays in the log, not on the row)."""
    anchor = TrustAnchor.objects.select_for_update().get(pk=anchor.pk)
    if anchor.state != TrustAnchor.State.ACTIVE:
        anchor.state = TrustAnchor.State.ACTIVE
        anchor.suspended_at = None
        anchor.suspended_by = None
        anchor.save(update_fields=["state", "suspended_at", "suspended_by"])
        logger.info("trust anchor %s reactivated by user %s", anchor.pk, reactivated_by.pk)
    return anchor
