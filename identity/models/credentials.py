"""What the portal remembers about the credentials issued through it: identifiers, status bits and leaf hashes.

Never the credential, its claims or its subject: the holder keeps those.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from identity.credentials.status_list import MINIMUM_BITS


class StatusList(models.Model):
    """One Bitstring Status List (revocation or suspension) for one issuer's credentials, published as a
    BitstringStatusListCredential signed by the portal at ``/credentials/status/<list_id>``.

    ``bits`` is the raw list (``size_in_bits / 8`` bytes, bit 0 is the most significant bit of byte 0). Indexes are
    drawn at random (see :class:`StatusListSlot`), so a verifier cannot read issuance order from them. New
    credentials go to the issuer's one ``is_open`` list per purpose; once three quarters of its bits are taken it is
    closed and a new list opened. Every change increments ``version``, re-signs ``published_credential`` and anchors
    its hash.

    A revocation list is also published as an IETF Token Status List (``status_token``, a JWT signed by the list's
    issuer): two bits per index, 0 valid, 1 revoked, 2 suspended, the value at a credential's revocation index
    derived from its :class:`CredentialRecord`. SD-JWT VCs point at it with ``status.status_list``; it is re-signed
    whenever one of its credentials is revoked or (un)suspended, and when it nears ``status_token_expires_at``.
    """

    class Purpose(models.TextChoices):
        REVOCATION = "revocation", _("Revocation")
        SUSPENSION = "suspension", _("Suspension")

    list_id = models.CharField(max_length=40, unique=True)
    issuer_did = models.CharField(max_length=300)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    size_in_bits = models.PositiveIntegerField(default=MINIMUM_BITS)
    is_open = models.BooleanField(default=True, help_text="Whether new credentials still get slots in this list.")
    bits = models.BinaryField()
    version = models.PositiveIntegerField(default=0)
    published_credential = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    status_token = models.TextField(
        blank=True, help_text="The revocation list's signed IETF Status List Token (JWT), empty for suspension lists."
    )
    status_token_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["issuer_did", "purpose", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=["revocation", "suspension"]), name="identity_status_list_purpose_valid"
            ),
            models.CheckConstraint(condition=Q(size_in_bits__gte=MINIMUM_BITS), name="identity_status_list_min_size"),
            models.UniqueConstraint(
                fields=["issuer_did", "purpose"], condition=Q(is_open=True), name="identity_status_list_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} list {self.list_id}"

    @property
    def slot_capacity(self) -> int:
        """How many slots the list hands out before it is closed: three quarters of its bits, so a random draw
        still finds a free index within a few tries."""
        return self.size_in_bits * 3 // 4


class StatusListSlot(models.Model):
    """One index of a status list taken by a credential. The unique (list, index) pair is what makes a random draw
    safe without locking the list: two issuers drawing the same index collide here, and the loser draws again."""

    status_list = models.ForeignKey(StatusList, on_delete=models.PROTECT, related_name="slots")
    index = models.PositiveIntegerField()
    allocated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["status_list", "index"]
        constraints = [
            models.UniqueConstraint(fields=["status_list", "index"], name="identity_status_list_slot_unique"),
        ]

    def __str__(self) -> str:
        return f"slot {self.index} of list {self.status_list_id}"


class CredentialRecord(models.Model):
    """The portal's trace of one issued credential: enough to revoke it and to check its anchor, nothing about whom
    it describes.

    ``leaf_hash`` = SHA-256(``leaf_salt`` ‖ anchor bytes of the secured credential) (hex); the salt is random per
    credential so the public leaf cannot confirm a guessed credential. Revocation is final; suspension can be lifted.
    """

    class Format(models.TextChoices):
        VC_JWT = "vc-jwt", _("VC-JWT")
        DATA_INTEGRITY = "data-integrity", _("Data Integrity (eddsa-jcs-2022)")
        SD_JWT = "sd-jwt", _("SD-JWT VC")

    credential_id = models.CharField(max_length=45, unique=True, help_text="urn:uuid:…")
    credential_type = models.CharField(max_length=100)
    issuer_did = models.CharField(max_length=300)
    format = models.CharField(max_length=16, choices=Format.choices)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    revocation_list = models.ForeignKey(StatusList, on_delete=models.PROTECT, related_name="+")
    revocation_index = models.PositiveIntegerField()
    suspension_list = models.ForeignKey(StatusList, on_delete=models.PROTECT, related_name="+")
    suspension_index = models.PositiveIntegerField()
    leaf_salt = models.BinaryField(max_length=32)
    leaf_hash = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    is_suspended = models.BooleanField(default=False)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["revocation_list", "revocation_index"], name="identity_credential_revocation_slot_unique"
            ),
            models.UniqueConstraint(
                fields=["suspension_list", "suspension_index"], name="identity_credential_suspension_slot_unique"
            ),
            models.CheckConstraint(
                condition=Q(format__in=["vc-jwt", "data-integrity", "sd-jwt"]), name="identity_credential_format_valid"
            ),
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")), name="identity_credential_period"),
            models.CheckConstraint(condition=Q(leaf_hash__regex=r"^[0-9a-f]{64}$"), name="identity_credential_leaf"),
        ]

    def __str__(self) -> str:
        return self.credential_id

    @property
    def status_label(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "suspended" if self.is_suspended else "active"
