"""X.509 for credentials: a portal issuing CA, leaf certificates for signing keys, ``x5c`` chains, chain checks.

The interoperability profile for high assurance (HAIP) names ES256 (P-256) keys whose certificate chain travels in
the JOSE ``x5c`` header. The chain is leaf first and leaves out the trust anchor; a verifier holds the anchors it
trusts (the portal's CA, later the anchors of a trust registry) and calls :func:`certificate_chain_verify`.
Issuers and verifiers share this module; nothing here touches the database.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAX_CHAIN_LENGTH = 4


class CertificateChainError(ValueError):
    """The chain does not lead to a trusted anchor, a certificate is outside its validity, or one is malformed."""


def generate_p256_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 key (the ES256 curve)."""
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def ca_certificate_create(
    *,
    private_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    organisation: str,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """A self-signed CA certificate that may sign leaf certificates only (path length 0)."""
    name = _name(common_name, organisation)
    public_key = private_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(is_ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(private_key, hashes.SHA256())


def leaf_certificate_issue(
    *,
    ca_private_key: ec.EllipticCurvePrivateKey,
    ca_certificate: x509.Certificate,
    subject_public_key: ec.EllipticCurvePublicKey,
    common_name: str,
    organisation: str,
    san_uris: Sequence[str] = (),
    san_dns_names: Sequence[str] = (),
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """A leaf (end-entity) certificate for a signing key, valid inside the CA's own validity."""
    if not_before < ca_certificate.not_valid_before_utc or not_after > ca_certificate.not_valid_after_utc:
        raise ValueError("a leaf certificate must lie inside its CA's validity")
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri) for uri in san_uris]
    names += [x509.DNSName(dns_name) for dns_name in san_dns_names]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation))
        .issuer_name(ca_certificate.subject)
        .public_key(subject_public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(is_ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if san_uris:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return builder.sign(ca_private_key, hashes.SHA256())


def _key_usage(*, is_ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not is_ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=is_ca,
        crl_sign=is_ca,
        encipher_only=False,
        decipher_only=False,
    )


def certificate_to_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


def certificate_from_der(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as error:
        raise CertificateChainError(f"undecodable certificate: {error}") from error


def certificate_to_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode("ascii")


def x5c_encode(certificates: Sequence[x509.Certificate]) -> list[str]:
    """The JOSE ``x5c`` value: standard (not URL-safe) base64 of each DER certificate, leaf first (RFC 7515 4.1.6)."""
    return [base64.b64encode(certificate_to_der(certificate)).decode("ascii") for certificate in certificates]


def x5c_decode(value: object) -> list[x509.Certificate]:
    """Certificates of an ``x5c`` header; anything but a non-empty list of base64 DER strings is refused."""
    if not isinstance(value, list) or not value or len(value) > MAX_CHAIN_LENGTH:
        raise CertificateChainError(f"x5c must be a list of 1 to {MAX_CHAIN_LENGTH} certificates")
    certificates = []
    for entry in value:
        if not isinstance(entry, str):
            raise CertificateChainError("x5c entries are base64 strings")
        try:
            der = base64.b64decode(entry, validate=True)
        except (binascii.Error, ValueError) as error:
            raise CertificateChainError("x5c entry is not standard base64") from error
        certificates.append(certificate_from_der(der))
    return certificates


def certificate_chain_verify(
    *, chain: Sequence[x509.Certificate], trust_anchors: Sequence[x509.Certificate], at: datetime
) -> x509.Certificate:
    """Check that ``chain`` (leaf first, anchor optional at the end) leads to one of ``trust_anchors``: each
    certificate signed by the next, every issuer a CA allowed to sign certificates (basic constraints, key usage,
    path length), every certificate valid ``at``, the leaf not a CA and allowed to sign (key usage).
    Returns the leaf, whose public key then verifies the signature it vouches for."""
    failure = CertificateChainError("the chain does not end at a trusted anchor")
    for path in _candidate_paths(chain, trust_anchors):  # two anchors may share a subject name (a renewed CA)
        try:
            return _chain_check(path, at=at)
        except CertificateChainError as error:
            failure = error
    raise failure


@dataclass(frozen=True)
class VerifiedPath:
    """A chain found to lead to ``anchor``, and the window in which every certificate of the path is valid."""

    leaf: x509.Certificate
    anchor: x509.Certificate
    valid_from: datetime
    valid_until: datetime


def certificate_path_verify(
    *, chain: Sequence[x509.Certificate], trust_anchors: Sequence[x509.Certificate]
) -> VerifiedPath:
    """The checks of :func:`certificate_chain_verify`, made at the first moment every certificate of the path is
    valid; the caller compares its clock with the returned window (so a checked path can be remembered and reused
    while its anchor is still trusted)."""
    failure = CertificateChainError("the chain does not end at a trusted anchor")
    for path in _candidate_paths(chain, trust_anchors):
        valid_from = max(certificate.not_valid_before_utc for certificate in path)
        valid_until = min(certificate.not_valid_after_utc for certificate in path)
        if valid_from > valid_until:
            failure = CertificateChainError("the chain's certificates are never valid at the same time")
            continue
        try:
            leaf = _chain_check(path, at=valid_from)
        except CertificateChainError as error:
            failure = error
            continue
        return VerifiedPath(leaf=leaf, anchor=path[-1], valid_from=valid_from, valid_until=valid_until)
    raise failure


def _candidate_paths(
    chain: Sequence[x509.Certificate], trust_anchors: Sequence[x509.Certificate]
) -> list[list[x509.Certificate]]:
    """The chain ending at a trusted anchor: as sent when its last certificate is an anchor, else with each anchor
    whose subject issued its last certificate appended."""
    if not chain or len(chain) > MAX_CHAIN_LENGTH:
        raise CertificateChainError("empty or over-long certificate chain")
    anchor_ders = {certificate_to_der(anchor) for anchor in trust_anchors}
    certificates = list(chain)
    if certificate_to_der(certificates[-1]) in anchor_ders:
        return [certificates]
    candidates = [anchor for anchor in trust_anchors if anchor.subject == certificates[-1].issuer]
    if not candidates:
        raise CertificateChainError("the chain does not end at a trusted anchor")
    return [[*certificates, anchor] for anchor in candidates]


def _chain_check(certificates: Sequence[x509.Certificate], *, at: datetime) -> x509.Certificate:
    """The checks of :func:`certificate_chain_verify` on a chain that ends at its anchor."""
    if _is_ca(certificates[0]):
        raise CertificateChainError("the signing certificate is a CA certificate")
    if not _key_usage_allows(certificates[0], signing_certificates=False):
        raise CertificateChainError("the signing certificate's key usage does not allow digital signatures")
    for certificate in certificates:
        if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
            raise CertificateChainError(f"certificate {certificate.subject.rfc4514_string()} is not valid at {at}")
    for position, (subject, issuer) in enumerate(itertools.pairwise(certificates)):
        if not _is_ca(issuer) or not _key_usage_allows(issuer, signing_certificates=True):
            raise CertificateChainError(f"{issuer.subject.rfc4514_string()} is not a CA that may sign certificates")
        path_length = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
        if path_length is not None and position > path_length:
            raise CertificateChainError(f"{issuer.subject.rfc4514_string()} allows no CA below it this deep")
        try:
            subject.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as error:
            raise CertificateChainError(f"{subject.subject.rfc4514_string()} is not signed by its issuer") from error
    return certificates[0]


def _key_usage_allows(certificate: x509.Certificate, *, signing_certificates: bool) -> bool:
    """A certificate without a key usage extension may do anything; with one, it must allow the use."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(usage.key_cert_sign if signing_certificates else usage.digital_signature)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def validity_period(*, now: datetime, days: int) -> tuple[datetime, datetime]:
    """A whole-second validity window that starts a minute back (tolerating clock skew)."""
    start = now.replace(microsecond=0) - timedelta(minutes=1)
    return start, start + timedelta(days=days)
