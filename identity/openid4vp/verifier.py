"""The verifier's identity and its signed authorization requests.

Client identifier ``x509_san_dns:<host of PORTAL_BASE_URL>``: the request object is signed ES256 by the verifier's
access certificate key, whose certificate (issued by the portal's issuing CA, SAN dNSName = the host) travels in the
``x5c`` header. A wallet checks that the leaf's SAN names the client id and that the ``response_uri`` is on that
host (OpenID4VP 1.0 section 5.9.3), so a page elsewhere cannot pose as the portal.

The request's ``client_metadata`` (OpenID4VP 1.0 section 5.1) also names the portal for the wallet's consent screen:
``client_name`` and ``logo_uri`` are client metadata of RFC 7591 section 2. They sit inside the signed request object;
a wallet still takes the certificate, not them, as proof of who asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from urllib.parse import urlencode, urlsplit

import segno
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_private_key
from django.conf import settings
from django.db import IntegrityError, transaction
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from core.encryption import field_decrypt
from identity.credentials import jose, x509
from identity.models import PresentationTransaction, X509SigningKey
from identity.openid4vci import certificates
from identity.openid4vp.jwe import KEY_LENGTHS

CLIENT_ID_PREFIX = "x509_san_dns:"
CLIENT_NAME = "FinLab"
"""The ``client_name`` a wallet shows as who asks (the brand, the same in every language)."""
LOGO_PATH = "identity/finlab-logo.svg"
WALLET_SCHEME = "openid4vp://"
BROWSER_WALLET_PATH = "/identity/wallet/openid4vp/"
"""Where the portal's own browser wallet takes the same authorization request (its page reads the query)."""
REQUEST_OBJECT_TYPE = "oauth-authz-req+jwt"
REQUEST_OBJECT_AUDIENCE = "https://self-issued.me/v2"
REQUEST_OBJECT_LIFETIME = timedelta(minutes=10)
VERIFIER_VALIDITY_DAYS = 365
SIGNING_ALGORITHMS = ["ES256", "EdDSA"]


def portal_base_url() -> str:
    return settings.PORTAL_BASE_URL.rstrip("/")


def verifier_host() -> str:
    return urlsplit(portal_base_url()).hostname or "localhost"


def client_id() -> str:
    """The portal's client identifier as a verifier."""
    return CLIENT_ID_PREFIX + verifier_host()


def _san_dns_names(certificate: crypto_x509.Certificate) -> list[str]:
    try:
        names = certificate.extensions.get_extension_for_class(crypto_x509.SubjectAlternativeName).value
    except crypto_x509.ExtensionNotFound:
        return []
    return list(names.get_values_for_type(crypto_x509.DNSName))


def _verifier_key_row(host: str) -> X509SigningKey:
    """The active access certificate for ``host``; a new one (and the old one retired) when the host changed."""
    now = timezone.now()
    role = X509SigningKey.Role.VERIFIER
    row = X509SigningKey.objects.filter(role=role, is_active=True, not_after__gt=now).first()
    if row is not None and host in _san_dns_names(x509.certificate_from_der(bytes(row.certificate_der))):
        return row
    ca_private_key, ca_certificate = certificates.x509_key_open(certificates.portal_issuing_ca())
    private_key = x509.generate_p256_key()
    # The clock read after the CA is there: a CA made on first use just now starts in a later second than `now` when
    # a second ended in between, and a leaf must not start before its CA.
    not_before, not_after = x509.validity_period(now=timezone.now(), days=VERIFIER_VALIDITY_DAYS)
    certificate = x509.leaf_certificate_issue(
        ca_private_key=ca_private_key,
        ca_certificate=ca_certificate,
        subject_public_key=private_key.public_key(),
        common_name="FinLab Verifier",
        organisation=certificates.ORGANISATION,
        san_dns_names=[host],
        not_before=not_before,
        not_after=min(not_after, ca_certificate.not_valid_after_utc),
    )
    try:
        with transaction.atomic():
            X509SigningKey.objects.filter(role=role, is_active=True).update(is_active=False)
            certificates.x509_key_store(role=role, private_key=private_key, certificate=certificate)
    except IntegrityError:
        pass  # another request made one at the same moment; the one-active-key constraint keeps exactly one
    found = X509SigningKey.objects.filter(role=role, is_active=True).first()
    assert found is not None
    return found


@dataclass(frozen=True)
class VerifierSigner:
    private_key: ec.EllipticCurvePrivateKey
    certificate: crypto_x509.Certificate
    x5c: list[str]


def verifier_signer() -> VerifierSigner:
    """The access certificate's key, decrypted for one signature; ``x5c`` is the leaf then the issuing CA."""
    row = _verifier_key_row(verifier_host())
    private_key, certificate = certificates.x509_key_open(row)
    ca = x509.certificate_from_der(bytes(certificates.portal_issuing_ca().certificate_der))
    return VerifierSigner(private_key=private_key, certificate=certificate, x5c=x509.x5c_encode([certificate, ca]))


def transaction_private_key(presentation: PresentationTransaction) -> ec.EllipticCurvePrivateKey:
    """The transaction's ephemeral ECDH-ES key (raises when it was wiped at the end of the transaction)."""
    if not presentation.encrypted_private_key:
        raise LookupError("the transaction's key has been wiped")
    raw = field_decrypt(blob=bytes(presentation.encrypted_private_key), context=presentation.encryption_context())
    private_key = load_der_private_key(raw, password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise TypeError("a transaction key is a P-256 key")
    return private_key


def request_uri(presentation: PresentationTransaction) -> str:
    return portal_base_url() + reverse("openid4vp:request-object", args=[presentation.public_id])


def response_uri(presentation: PresentationTransaction) -> str:
    return portal_base_url() + reverse("openid4vp:response", args=[presentation.public_id])


def logo_uri() -> str | None:
    """The portal's logo as an absolute https URL; None when the portal is not served over https (a wallet refuses
    a ``logo_uri`` that is not https, as the OpenWallet Foundation's OpenID4VP library does)."""
    url = static(LOGO_PATH)
    if not url.startswith(("https://", "http://")):
        url = portal_base_url() + "/" + url.lstrip("/")
    return url if url.startswith("https://") else None


def client_metadata(presentation: PresentationTransaction) -> dict[str, object]:
    logo = logo_uri()
    return {
        "client_name": CLIENT_NAME,
        **({"logo_uri": logo} if logo else {}),
        "jwks": {"keys": [presentation.encryption_jwk]},
        "encrypted_response_enc_values_supported": list(KEY_LENGTHS),
        "vp_formats_supported": {
            "dc+sd-jwt": {"sd-jwt_alg_values": SIGNING_ALGORITHMS, "kb-jwt_alg_values": SIGNING_ALGORITHMS}
        },
    }


def request_object(presentation: PresentationTransaction, *, now: datetime) -> str:
    """The signed authorization request (JAR, RFC 9101) of a transaction, made fresh on every fetch."""
    signer = verifier_signer()
    issued_at = int(now.timestamp())
    expires_at = min(now + REQUEST_OBJECT_LIFETIME, presentation.expires_at)
    payload = {
        "iss": presentation.client_id,
        "aud": REQUEST_OBJECT_AUDIENCE,
        "response_type": "vp_token",
        "client_id": presentation.client_id,
        "response_mode": presentation.response_mode,
        "response_uri": response_uri(presentation),
        "nonce": presentation.nonce,
        "state": presentation.state,
        "dcql_query": presentation.dcql_query,
        "client_metadata": client_metadata(presentation),
        "iat": issued_at,
        "exp": int(expires_at.timestamp()),
    }
    header = {"alg": "ES256", "typ": REQUEST_OBJECT_TYPE, "x5c": signer.x5c}
    return jose.sign_compact(header=header, payload=payload, private_key=signer.private_key)


@dataclass(frozen=True)
class AuthorizationRequestLinks:
    """How a wallet reaches a transaction: the ``openid4vp://`` link (any wallet, also as QR code) and the same query
    on the portal's browser wallet page."""

    wallet_link: str
    browser_wallet_link: str

    @cached_property
    def qr_svg(self) -> str:
        """The wallet link as an inline SVG QR code, drawn only by the pages that show it (drawing it costs more
        than the rest of the page)."""
        return segno.make_qr(self.wallet_link, error="l").svg_inline(scale=3, title="OpenID4VP")


def authorization_request_links(presentation: PresentationTransaction) -> AuthorizationRequestLinks:
    query = urlencode({"client_id": presentation.client_id, "request_uri": request_uri(presentation)})
    wallet_link = f"{WALLET_SCHEME}?{query}"
    return AuthorizationRequestLinks(
        wallet_link=wallet_link,
        browser_wallet_link=f"{portal_base_url()}{BROWSER_WALLET_PATH}?{query}",
    )
