"""People and organisations. The login e-mail is the only personal value the portal keeps in clear."""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS, Role


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
    """A person who logs in with an e-mail address. The role comes from the user's group (see accounts.roles)."""

    email = models.EmailField(max_length=254, unique=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Set by the worker once the confirmation e-mail left; lets staff see a stuck confirmation.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    dealer_organisation = models.ForeignKey(
        DealerOrganisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )

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
        ]

    def __str__(self) -> str:
        return f"user {self.pk}"

    @property
    def is_staff(self) -> bool:
        """Django's admin site is not mounted; nobody is staff in Django's sense."""
        return False

    @cached_property
    def role(self) -> Role | None:
        """The user's role, highest first if a user was ever given several groups."""
        for candidate in (Role.BACK_OFFICE, Role.DEALER, Role.CUSTOMER):
            if self.has_perm(ROLE_PERMISSIONS[candidate]):
                return candidate
        return None


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
