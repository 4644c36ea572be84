"""OpenID4VCI state of the portal's credential issuer: its X.509 keys and the short-lived grants of issuance.

No credential and no claim is stored here. Offers, codes, tokens and nonces are kept as SHA-256 hashes of the
random values handed out (256 bits each), so a database read does not yield a usable grant; the transaction code
(a short PIN) is kept as an HMAC under the portal's secret with the offer's own salt.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class X509SigningKey(models.Model):
    """An ES256 (P-256) key with its certificate: the portal's issuing CA (``ca``) or a credential-signing key
    certified by it (``issuer``). The private half is encrypted at rest (core.encryption, context
    ``x509:<role>:<id>``). One active key per role; a retired one keeps its certificate for chain checks."""

    class Role(models.TextChoices):
        CA = "ca", "Issuing CA"
        ISSUER = "issuer", "Credential signing"
        VERIFIER = "verifier", "Verifier access certificate"

    role = models.CharField(max_length=8, choices=Role.choices)
    certificate_der = models.BinaryField(max_length=4096)
    encrypted_private_key = models.BinaryField(max_length=512)
    is_active = models.BooleanField(default=True)
    not_after = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["role", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["role"], condition=Q(is_active=True), name="identity_x509_one_active_role"),
            models.CheckConstraint(condition=Q(role__in=["ca", "issuer", "verifier"]), name="identity_x509_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.role} key {self.pk} ({'active' if self.is_active else 'retired'})"

    def encryption_context(self) -> bytes:
        return f"x509:{self.role}:{self.pk}".encode()


class CredentialOffer(models.Model):
    """A credential offer made to a logged-in customer. The pre-authorized code and its transaction code are
    stored hashed; the code is single-use (``redeemed_at``) and short-lived (``expires_at``), and the transaction
    code may be tried ``OPENID4VCI_TX_CODE_ATTEMPTS`` times before the offer is spent."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credential_offers")
    credential_configuration_ids = models.JSONField()
    pre_authorized_code_hash = models.CharField(max_length=64, unique=True)
    tx_code_salt = models.BinaryField(max_length=32)
    tx_code_hmac = models.CharField(max_length=64)
    failed_tx_code_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="identity_offer_expiry"),
        ]

    def __str__(self) -> str:
        return f"credential offer {self.pk} for user {self.user_id}"


class AuthorizationCode(models.Model):
    """An authorization code of the authorization code flow, issued to a public client after the customer
    consented; bound to the client, the exact redirect URI and the PKCE S256 challenge; single-use."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.CharField(max_length=500)
    code_challenge = models.CharField(max_length=64)
    credential_configuration_ids = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"authorization code {self.pk} for {self.client_id}"


class IssuanceAccessToken(models.Model):
    """A bearer access token for the credential endpoint, bound to the offer or authorization code that granted
    it and to the credential configurations named there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    offer = models.ForeignKey(CredentialOffer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    authorization_code = models.ForeignKey(
        AuthorizationCode, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    credential_configuration_ids = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(offer__isnull=False, authorization_code__isnull=True)
                | Q(offer__isnull=True, authorization_code__isnull=False),
                name="identity_access_token_one_grant",
            ),
        ]

    def __str__(self) -> str:
        return f"access token {self.pk}"


class IssuanceNonce(models.Model):
    """A ``c_nonce`` from the nonce endpoint: a key proof must carry it, and it is accepted once."""

    nonce_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"nonce {self.pk}"
