"""People and organisations. The login e-mail is the only personal value the portal keeps in clear."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from core.encryption import field_decrypt


class UserManager(BaseUserManager["User"]):
    """Creation goes through `accounts.services.user_create`; this manager only satisfies Django's auth API."""

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        return self.create_user(email, password, is_superuser=True, **extra)


class DealerOrganisation(models.Model):
    """A dealership. Dealer users belong to exactly one; its slug names its `did:web` identifier."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address. The role comes from the user's group (see accounts.roles).

    `area_role` is that role stored on the row itself, so every request knows it from the one query that loads the
    user (or the API token with its user) and role checks need no permission query. The groups stay the source:
    `accounts.signals` recomputes `area_role` whenever a user's groups or permissions, or a group's permissions,
    change, and `accounts.services.user_role_set` changes both in one transaction.
    """

    email = models.EmailField(max_length=254, unique=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Set by the worker once the confirmation e-mail left; lets staff see a stuck confirmation.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    dealer_organisation = models.ForeignKey(
        DealerOrganisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    area_role = models.CharField(
        max_length=16, choices=Role.choices, blank=True, default="",
        help_text="The role the user's groups grant (highest if several); kept in step by accounts.signals.",
    )  # fmt: skip
    # Shown name of staff and dealers on pages ("Approved by Anna Schmidt"); optional, the e-mail stands in.
    display_name = models.CharField(max_length=120, blank=True, default="")
    # The page language chosen with the header switch ("" = follow the browser), applied on every request after login.
    language = models.CharField(max_length=8, blank=True, default="", choices=settings.LANGUAGES)
    # The page language the person used when they signed up ("" = not known: signed up before it was recorded, or
    # invited). Mail follows it until they choose a language (see `correspondence_language`).
    signup_language = models.CharField(max_length=8, blank=True, default="", choices=settings.LANGUAGES)
    # IANA zone every time is shown in; validated against the zone database by accounts.services.user_preferences_update.
    time_zone = models.CharField(max_length=64, default="Europe/Berlin")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_unique_ci")]
        permissions = [
            ("customer_area", "Can use the customer area"),
            ("dealer_area", "Can use the dealer area"),
            ("back_office_area", "Can use the back office"),
            ("manage_staff", "Can invite dealer and back-office users and change their roles"),
        ]

    def __str__(self) -> str:
        return f"user {self.pk}"

    @property
    def shown_name(self) -> str:
        """How pages name this person to others: the display name, else the e-mail address."""
        return self.display_name or self.email

    @property
    def correspondence_language(self) -> str:
        """The language of e-mails and documents sent to this person: the one they chose, else the one they signed up
        in, else the portal's default. A person who signed up with a German browser and never chose gets German."""
        return self.language or self.signup_language or settings.LANGUAGE_CODE

    @property
    def is_staff(self) -> bool:
        """Django's admin site is not mounted; nobody is staff in Django's sense."""
        return False

    @property
    def role(self) -> Role | None:
        """The user's role, highest first if a user was ever given several groups; None for a deactivated user.

        Read from the row (no query). It answers what `has_perm` on the role's area permission answered: nothing for
        an inactive user, the back office for an active superuser."""
        if not self.is_active:
            return None
        if self.is_superuser:
            return Role.BACK_OFFICE
        return Role(self.area_role) if self.area_role else None


class ApiToken(models.Model):
    """A bearer token for dealer-management systems and scripts. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="First characters of the token, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EncryptedTotpDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator (RFC 6238) whose shared secret is stored only encrypted.

    django-otp's own TOTPDevice keeps the secret in clear hex; this device keeps it in `encrypted_key`
    (core.encryption under FIELD_ENCRYPTION_KEYS, context `totp-device:<user id>`, rotated by `field_keys_rotate`)
    and otherwise verifies exactly like it: `step` seconds per code, `digits` digits, `tolerance` steps either side,
    `last_t` the step of the last accepted code (a code is accepted once), throttled after failures.
    """

    encrypted_key = models.BinaryField()
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "TOTP device"

    @staticmethod
    def secret_context(user_id: int) -> bytes:
        return f"totp-device:{user_id}".encode()

    @property
    def bin_key(self) -> bytes:
        """The shared secret, decrypted for one verification (never stored in clear)."""
        return field_decrypt(blob=self.encrypted_key, context=self.secret_context(self.user_id))

    # The verification, throttling and provisioning URL of django-otp's TOTP device, unchanged: they read `bin_key`.
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator app once (phone lost); staff get 10 at enrolment.

    Only the SHA-256 of the code is stored (the code is 60 random bits, shown once); `used_at` is set when it is
    spent, and a spent code never works again. Regenerating deletes the user's earlier codes.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code {self.pk} of user {self.user_id}"


class NotificationPreference(models.Model):
    """A user's choice for one optional kind of notification e-mail (`kind` as registered by the app that sends it,
    e.g. "payments.code_expiring"). No row means the kind's default; mandatory kinds are always sent and have none."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(max_length=80)
    is_enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"notification preference {self.kind} of user {self.user_id}"


class SentNotificationStatus(models.TextChoices):
    SENT = "sent", "Sent"
    SUPPRESSED = "suppressed", "Not sent: the user turned this kind off"


class SentNotification(models.Model):
    """One notification of one event to one user, recorded in the transaction that hands the e-mail to the mail
    server: a second delivery of the same event (outbox sweep, broker redelivery, a beat run repeated) finds this row
    and sends nothing. `event_key` is the business key of the event ("order:<uuid>", "collection:<id>:returned");
    neither it nor any other column holds the e-mail's content."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sent_notifications")
    kind = models.CharField(max_length=80)
    event_key = models.CharField(max_length=160)
    status = models.CharField(max_length=12, choices=SentNotificationStatus.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "event_key", "user"], name="sent_notification_once_per_event"),
            models.CheckConstraint(
                condition=models.Q(status__in=SentNotificationStatus.values), name="sent_notification_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_key} to user {self.user_id} ({self.status})"


class StaffInvitation(models.Model):
    """An invitation to a dealer or back-office account, sent by e-mail to ``email`` by a staff administrator.

    The link carries a signed token naming this row and its random ``nonce``; it works once (``accepted_at``), until
    ``expires_at``, and not after ``revoked_at``. Accepting creates the user with ``role``, ``dealer_organisation`` and
    ``display_name``, who then enrols a second factor like all staff.
    """

    email = models.EmailField(max_length=254)
    display_name = models.CharField(max_length=120)
    role = models.CharField(max_length=16, choices=Role.choices)
    dealer_organisation = models.ForeignKey(
        DealerOrganisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    nonce = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["dealer", "back_office"]), name="accounts_invitation_staff_role"
            ),
            models.CheckConstraint(
                condition=models.Q(role="dealer", dealer_organisation__isnull=False)
                | models.Q(role="back_office", dealer_organisation__isnull=True),
                name="accounts_invitation_dealer_iff_organisation",
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="accounts_invitation_not_accepted_and_revoked",
            ),
            # One open invitation per address: a second one would leave two working links.
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="accounts_invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"staff invitation {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class RoleChange(models.Model):
    """Audit trail of who gave whom which role, and when: every invitation accepted and every role change."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="role_changes")
    changed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    old_role = models.CharField(max_length=16, blank=True, choices=Role.choices)
    new_role = models.CharField(max_length=16, choices=Role.choices)
    old_dealer_organisation = models.ForeignKey(
        DealerOrganisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_dealer_organisation = models.ForeignKey(
        DealerOrganisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    invitation = models.ForeignKey(StaffInvitation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"role change {self.pk} of user {self.user_id}"
