"""The portal's issuing CA and its ES256 credential-signing key, made on first use and kept encrypted at rest.

The CA key signs leaf certificates only; the issuer key signs SD-JWT VCs and travels as ``x5c`` (leaf only, the
anchor is the CA that verifiers hold). A verifier in this portal takes the anchors from :func:`trust_anchors`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_der_private_key
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.encryption import field_decrypt, field_encrypt
from identity.credentials import x509
from identity.models import X509SigningKey

CA_VALIDITY_DAYS = 3650
ISSUER_VALIDITY_DAYS = 365
ORGANISATION = "FinLab Financial Services"


@dataclass(frozen=True)
class X509Signer:
    """A decrypted ES256 key and the ``x5c`` chain that names it (held in memory for one operation)."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: crypto_x509.Certificate
    x5c: list[str]


def credential_issuer_url() -> str:
    """The credential issuer identifier (an https URL without a trailing slash; http only in tests and local)."""
    return settings.OPENID4VCI_CREDENTIAL_ISSUER.rstrip("/")


def _stored_key(*, role: str, private_key: ec.EllipticCurvePrivateKey, certificate: crypto_x509.Certificate) -> None:
    row = X509SigningKey.objects.create(
        role=role,
        certificate_der=x509.certificate_to_der(certificate),
        encrypted_private_key=b"",
        not_after=certificate.not_valid_after_utc,
    )
    raw = private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    row.encrypted_private_key = field_encrypt(plaintext=raw, context=row.encryption_context())
    row.save(update_fields=["encrypted_private_key"])


def _opened(row: X509SigningKey) -> tuple[ec.EllipticCurvePrivateKey, crypto_x509.Certificate]:
    raw = field_decrypt(blob=bytes(row.encrypted_private_key), context=row.encryption_context())
    private_key = load_der_private_key(raw, password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise TypeError("an X.509 signing key must be a P-256 key")
    return private_key, x509.certificate_from_der(bytes(row.certificate_der))


def _active(role: str) -> X509SigningKey | None:
    return X509SigningKey.objects.filter(role=role, is_active=True, not_after__gt=timezone.now()).first()


def _ensure(role: str, create: Callable[[], None]) -> X509SigningKey:
    row = _active(role)
    if row is not None:
        return row
    try:
        with transaction.atomic():
            # an expired key steps aside; a valid one made meanwhile by another request stays and wins below
            X509SigningKey.objects.filter(role=role, is_active=True, not_after__lte=timezone.now()).update(
                is_active=False
            )
            create()
    except IntegrityError:
        pass  # another request made it first; the one-active-key constraint leaves exactly one
    found = _active(role)
    assert found is not None
    return found


def portal_issuing_ca() -> X509SigningKey:
    """The active issuing CA, self-signed on first use."""

    def create() -> None:
        private_key = x509.generate_p256_key()
        not_before, not_after = x509.validity_period(now=timezone.now(), days=CA_VALIDITY_DAYS)
        certificate = x509.ca_certificate_create(
            private_key=private_key,
            common_name="FinLab Credential Issuing CA",
            organisation=ORGANISATION,
            not_before=not_before,
            not_after=not_after,
        )
        _stored_key(role=X509SigningKey.Role.CA, private_key=private_key, certificate=certificate)

    return _ensure(X509SigningKey.Role.CA, create)


def issuer_signing_key() -> X509SigningKey:
    """The active credential-signing key, certified by the issuing CA for the issuer URL (SAN URI and DNS name)."""

    def create() -> None:
        ca_private_key, ca_certificate = _opened(portal_issuing_ca())
        private_key = x509.generate_p256_key()
        not_before, not_after = x509.validity_period(now=timezone.now(), days=ISSUER_VALIDITY_DAYS)
        not_after = min(not_after, ca_certificate.not_valid_after_utc)
        issuer_url = credential_issuer_url()
        certificate = x509.leaf_certificate_issue(
            ca_private_key=ca_private_key,
            ca_certificate=ca_certificate,
            subject_public_key=private_key.public_key(),
            common_name="FinLab Credential Issuer",
            organisation=ORGANISATION,
            san_uris=[issuer_url],
            san_dns_names=[urlsplit(issuer_url).hostname or "localhost"],
            not_before=not_before,
            not_after=not_after,
        )
        _stored_key(role=X509SigningKey.Role.ISSUER, private_key=private_key, certificate=certificate)

    return _ensure(X509SigningKey.Role.ISSUER, create)


def issuer_x509_signer() -> X509Signer:
    """Decrypt the issuer key for one signing operation; ``x5c`` holds the leaf certificate only."""
    private_key, certificate = _opened(issuer_signing_key())
    return X509Signer(private_key=private_key, certificate=certificate, x5c=x509.x5c_encode([certificate]))


def x509_key_store(*, role: str, private_key: ec.EllipticCurvePrivateKey, certificate: crypto_x509.Certificate) -> None:
    """Keep a new key of ``role`` (the verifier's access certificate uses this too)."""
    _stored_key(role=role, private_key=private_key, certificate=certificate)


def x509_key_open(row: X509SigningKey) -> tuple[ec.EllipticCurvePrivateKey, crypto_x509.Certificate]:
    """Decrypt a stored key for one operation."""
    return _opened(row)


def trust_anchors() -> list[crypto_x509.Certificate]:
    """Every issuing CA certificate still valid (a retired CA keeps verifying what its leaves signed)."""
    portal_issuing_ca()
    rows = X509SigningKey.objects.filter(role=X509SigningKey.Role.CA, not_after__gt=timezone.now())
    return [x509.certificate_from_der(bytes(row.certificate_der)) for row in rows]


def certificate_pem_of_ca() -> str:
    """The active issuing CA certificate in PEM, for relying parties to configure as a trust anchor."""
    return x509.certificate_to_pem(x509.certificate_from_der(bytes(portal_issuing_ca().certificate_der)))


X509_METHOD_FRAGMENT = "x509-issuer"


def did_verification_method(*, did: str) -> dict[str, object]:
    """The issuer key as a ``JsonWebKey2020`` method of the portal's did:web, its JWK carrying the ``x5c`` chain
    (leaf, then the issuing CA), so a verifier can reach the key by either route."""
    from identity.credentials import jose

    signer_row = issuer_signing_key()
    leaf = x509.certificate_from_der(bytes(signer_row.certificate_der))
    ca = x509.certificate_from_der(bytes(portal_issuing_ca().certificate_der))
    jwk = jose.public_jwk(leaf.public_key()) | {"alg": "ES256", "x5c": x509.x5c_encode([leaf, ca])}  # type: ignore[arg-type]
    return {"id": f"{did}#{X509_METHOD_FRAGMENT}", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}
