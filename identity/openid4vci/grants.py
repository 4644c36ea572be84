"""Grants of the issuer: credential offers with a pre-authorized code, authorization codes with PKCE, access
tokens and ``c_nonce`` values. Every value handed out is 256 random bits and stored only as its SHA-256; each check
that spends a value does it with a conditional UPDATE, so two requests racing with one code get one token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from identity.models import AuthorizationCode, CredentialOffer, IssuanceAccessToken, IssuanceNonce
from identity.openid4vci.certificates import credential_issuer_url
from identity.openid4vci.configurations import credential_configuration_get
from identity.openid4vci.errors import OAuthError, invalid_grant, invalid_request

TX_CODE_LENGTH = 6
# The portal's own browser wallet (static/identity/wallet/) is a public client like any wallet app; its one redirect
# URI is its page on the issuer's own origin (see browser_wallet_redirect_uri).
BROWSER_WALLET_CLIENT_ID = "finlab-browser-wallet"
ISSUER_STATE_MAX_LENGTH = 512
PKCE_VERIFIER_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def value_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=int(getattr(settings, name)))


def _tx_code_hmac(salt: bytes, tx_code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode() + salt, tx_code.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OfferMade:
    """What the customer sees once: the offer (for QR code and link) and the transaction code, shown apart."""

    offer: CredentialOffer
    credential_offer: dict[str, object]
    tx_code: str


@dataclass(frozen=True)
class TokenGranted:
    access_token: str
    expires_in: int
    credential_configuration_ids: list[str]


def credential_offer_create(*, user: User, configuration_ids: list[str], issuer_url: str) -> OfferMade:
    """A new offer with a pre-authorized code and a 6-digit transaction code for ``configuration_ids``."""
    if not configuration_ids or any(credential_configuration_get(value) is None for value in configuration_ids):
        raise ValueError("unknown credential configuration")
    code = secrets.token_urlsafe(32)
    tx_code = "".join(secrets.choice("0123456789") for _ in range(TX_CODE_LENGTH))
    salt = secrets.token_bytes(16)
    now = timezone.now()
    offer = CredentialOffer.objects.create(
        user=user,
        credential_configuration_ids=list(configuration_ids),
        pre_authorized_code_hash=value_hash(code),
        tx_code_salt=salt,
        tx_code_hmac=_tx_code_hmac(salt, tx_code),
        created_at=now,
        expires_at=now + _seconds("OPENID4VCI_PRE_AUTHORIZED_CODE_TTL"),
    )
    grant = {
        "pre-authorized_code": code,
        "tx_code": {"input_mode": "numeric", "length": TX_CODE_LENGTH, "description": "PIN shown on the portal"},
    }
    body = {
        "credential_issuer": issuer_url,
        "credential_configuration_ids": list(configuration_ids),
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": grant, "authorization_code": {}},
    }
    return OfferMade(offer=offer, credential_offer=body, tx_code=tx_code)


def _token_create(*, user_id: int, configuration_ids: list[str], **grant: object) -> TokenGranted:
    token = secrets.token_urlsafe(32)
    lifetime = _seconds("OPENID4VCI_ACCESS_TOKEN_TTL")
    IssuanceAccessToken.objects.create(
        user_id=user_id,
        token_hash=value_hash(token),
        credential_configuration_ids=configuration_ids,
        expires_at=timezone.now() + lifetime,
        **grant,
    )
    return TokenGranted(token, int(lifetime.total_seconds()), configuration_ids)


def pre_authorized_code_exchange(*, code: str, tx_code: str | None) -> TokenGranted:
    """Spend a pre-authorized code for an access token. Unknown, expired or used codes and a wrong transaction
    code are ``invalid_grant``; after OPENID4VCI_TX_CODE_ATTEMPTS wrong codes the offer is spent for good."""
    now = timezone.now()
    with transaction.atomic():
        offer = CredentialOffer.objects.select_for_update().filter(pre_authorized_code_hash=value_hash(code)).first()
        if offer is None or offer.redeemed_at is not None or offer.expires_at <= now:
            raise invalid_grant("The pre-authorized code is unknown, expired or already used.")
        if offer.failed_tx_code_attempts >= settings.OPENID4VCI_TX_CODE_ATTEMPTS:
            raise invalid_grant("Too many wrong transaction codes: ask the portal for a new offer.")
        if not tx_code:
            raise invalid_request("This offer needs the transaction code (tx_code).")
        if not hmac.compare_digest(_tx_code_hmac(bytes(offer.tx_code_salt), tx_code), offer.tx_code_hmac):
            CredentialOffer.objects.filter(pk=offer.pk).update(failed_tx_code_attempts=F("failed_tx_code_attempts") + 1)
            failed_tx_code_error = invalid_grant("The transaction code is wrong.")
        else:
            failed_tx_code_error = None
            offer.redeemed_at = now
            offer.save(update_fields=["redeemed_at"])
            return _token_create(
                user_id=offer.user_id, configuration_ids=list(offer.credential_configuration_ids), offer=offer
            )
    raise failed_tx_code_error


def _pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def browser_wallet_redirect_uri() -> str:
    """The browser wallet's page on the credential issuer's origin, without query or fragment: the authorization
    response is appended to it as ``?code=&state=&iss=``."""
    return credential_issuer_url() + reverse("identity:wallet")


def public_clients() -> dict[str, list[str]]:
    """Client id to registered redirect URIs: the configured wallet apps and the portal's own browser wallet (which
    a configuration cannot redirect elsewhere: its entry is set last)."""
    return {**settings.OPENID4VCI_PUBLIC_CLIENTS, BROWSER_WALLET_CLIENT_ID: [browser_wallet_redirect_uri()]}


def redirect_uri_allowed(*, client_id: str, redirect_uri: str) -> bool:
    """Wallets are public clients: a client id is known and its redirect URI matches a registered one exactly."""
    registered = public_clients().get(client_id, ())
    return redirect_uri in registered


def authorization_code_create(
    *, user: User, client_id: str, redirect_uri: str, code_challenge: str, configuration_ids: list[str]
) -> str:
    """A single-use authorization code for the consenting customer, bound to client, redirect URI and challenge."""
    code = secrets.token_urlsafe(32)
    now = timezone.now()
    AuthorizationCode.objects.create(
        user=user,
        code_hash=value_hash(code),
        client_id=client_id,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        credential_configuration_ids=configuration_ids,
        created_at=now,
        expires_at=now + _seconds("OPENID4VCI_AUTHORIZATION_CODE_TTL"),
    )
    return code


def authorization_code_exchange(*, code: str, client_id: str, redirect_uri: str, code_verifier: str) -> TokenGranted:
    """Spend an authorization code: same client and redirect URI as authorized, PKCE S256 verifier matching."""
    if not (43 <= len(code_verifier) <= 128) or not set(code_verifier) <= PKCE_VERIFIER_ALPHABET:
        raise invalid_grant("The code_verifier is not a valid PKCE verifier.")
    now = timezone.now()
    with transaction.atomic():
        row = AuthorizationCode.objects.select_for_update().filter(code_hash=value_hash(code)).first()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise invalid_grant("The authorization code is unknown, expired or already used.")
        row.used_at = now  # spent even when the checks below fail: a code is tried once
        row.save(update_fields=["used_at"])
        if row.client_id != client_id or row.redirect_uri != redirect_uri:
            failure: OAuthError | None = invalid_grant("The code was issued to another client or redirect URI.")
        elif not hmac.compare_digest(_pkce_challenge(code_verifier), row.code_challenge):
            failure = invalid_grant("The PKCE code_verifier does not match the code_challenge.")
        else:
            return _token_create(
                user_id=row.user_id,
                configuration_ids=list(row.credential_configuration_ids),
                authorization_code=row,
            )
    raise failure


def access_token_resolve(*, token: str) -> IssuanceAccessToken | None:
    """The unexpired token row for a bearer value, or None."""
    return (
        IssuanceAccessToken.objects.filter(token_hash=value_hash(token), expires_at__gt=timezone.now())
        .select_related("user")
        .first()
    )


def nonce_create() -> tuple[str, int]:
    """A fresh ``c_nonce`` and its lifetime in seconds."""
    nonce = secrets.token_urlsafe(32)
    lifetime = _seconds("OPENID4VCI_NONCE_TTL")
    IssuanceNonce.objects.create(nonce_hash=value_hash(nonce), expires_at=timezone.now() + lifetime)
    return nonce, int(lifetime.total_seconds())


def nonce_spend(*, nonce: str) -> bool:
    """True once for a nonce from the nonce endpoint that is unexpired and unused; it is used up by the call."""
    now = timezone.now()
    spent = IssuanceNonce.objects.filter(nonce_hash=value_hash(nonce), used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    return spent == 1
