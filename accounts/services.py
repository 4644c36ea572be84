"""Every write in accounts: users, registration and confirmation, login lockout, second factors, API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core import signing
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from accounts.models import ApiToken, DealerOrganisation, EncryptedTotpDevice, RecoveryCode, User
from accounts.roles import ROLE_PERMISSIONS, Role, role_from_permissions
from core.encryption import field_encrypt
from core.errors import ApplicationError, ConflictError, ValidationFailed
from core.outbox import outbox_write
from core.throttling import CACHE_ERRORS

logger = logging.getLogger(__name__)

_CONFIRMATION_SALT = "accounts.email-confirmation"


def dealer_organisation_create(*, name: str, slug: str) -> DealerOrganisation:
    """Registers a dealership; its slug becomes part of its `did:web` identifier, so it must stay stable."""
    if DealerOrganisation.objects.filter(slug=slug).exists():
        raise ConflictError(gettext_lazy("A dealer organisation with this slug exists."), code="slug_taken")
    return DealerOrganisation.objects.create(name=name, slug=slug)


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str,
    role: Role,
    dealer_organisation: DealerOrganisation | None = None,
    is_active: bool = True,
    signup_language: str = "",
) -> User:
    """Creates a user in one role. Dealers must name their organisation; other roles must not have one.
    `signup_language` is the page language the person signs up in (one of settings.LANGUAGES, else not recorded)."""
    email = User.objects.normalize_email(email).strip().lower()
    if (role == Role.DEALER) != (dealer_organisation is not None):
        raise ValidationFailed(
            gettext_lazy("Dealer users, and only they, belong to a dealer organisation."), code="bad_role"
        )
    if User.objects.filter(email__iexact=email).exists():
        raise ConflictError(
            gettext_lazy("An account with this e-mail exists."), code="email_taken", fields={"email": ["taken"]}
        )
    user = User(email=email, is_active=is_active, dealer_organisation=dealer_organisation, area_role=role.value)
    user.signup_language = signup_language if signup_language in dict(settings.LANGUAGES) else ""
    user.set_password(password)
    if is_active:
        user.email_confirmed_at = timezone.now()
    user.save()
    user.groups.add(role_group_get(role=role))
    return user


@transaction.atomic
def user_role_set(*, user: User, role: Role, dealer_organisation: DealerOrganisation | None = None) -> User:
    """Moves a user to another role: the old role group goes, the new one comes, and `area_role` follows (through
    accounts.signals), in one transaction. Dealers must name their organisation, other roles lose theirs. The user's
    next request, by session or API token, is checked against the new role."""
    if (role == Role.DEALER) != (dealer_organisation is not None):
        raise ValidationFailed("Dealer users, and only they, belong to a dealer organisation.", code="bad_role")
    user.groups.remove(*Group.objects.filter(name__in=[candidate.value for candidate in Role]))
    user.groups.add(role_group_get(role=role))
    User.objects.filter(pk=user.pk).update(dealer_organisation=dealer_organisation)
    user.dealer_organisation = dealer_organisation
    return user


def user_deactivate(*, user: User) -> None:
    """Closes an account: from its next request on, neither its session nor its API tokens let it in."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False


def user_roles_refresh(*, user_ids: Iterable[int]) -> None:
    """Recomputes `User.area_role` of `user_ids` from the area permissions their groups and own permissions grant
    (two queries and one update per role); called by accounts.signals whenever those change."""
    user_ids = set(user_ids)
    if not user_ids:
        return
    codenames = {permission.split(".")[1]: permission for permission in ROLE_PERMISSIONS.values()}
    granted: dict[int, set[str]] = {user_id: set() for user_id in user_ids}
    via_groups = User.groups.through.objects.filter(
        user_id__in=user_ids,
        group__permissions__content_type__app_label="accounts",
        group__permissions__codename__in=codenames,
    ).values_list("user_id", "group__permissions__codename")
    direct = User.user_permissions.through.objects.filter(
        user_id__in=user_ids, permission__content_type__app_label="accounts", permission__codename__in=codenames
    ).values_list("user_id", "permission__codename")
    for user_id, codename in [*via_groups, *direct]:
        granted[user_id].add(codenames[codename])
    by_role: dict[str, list[int]] = {}
    for user_id, permissions in granted.items():
        role = role_from_permissions(permissions)
        by_role.setdefault(role.value if role else "", []).append(user_id)
    for area_role, ids in by_role.items():
        User.objects.filter(pk__in=ids).exclude(area_role=area_role).update(area_role=area_role)


def role_group_get(*, role: Role) -> Group:
    """The group of a role with its area permission; made on first use, so a flushed test database heals itself."""
    group, created = Group.objects.get_or_create(name=role.value)
    if created:
        app_label, codename = ROLE_PERMISSIONS[role].split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group


def customer_register(*, email: str, password: str, language: str = "") -> User:
    """Self-registration: an inactive customer until the e-mail link is followed. The e-mail is sent after commit.
    `language` is the page language of the sign-up (the request's active language); mail follows it until the
    customer chooses one."""
    from accounts.tasks import EMAIL_CONFIRMATION_TOPIC

    with transaction.atomic():
        user = user_create(
            email=email, password=password, role=Role.CUSTOMER, is_active=False, signup_language=language
        )
        outbox_write(topic=EMAIL_CONFIRMATION_TOPIC, key=f"user:{user.pk}", payload={"user_id": user.pk})
    logger.info("customer registered", extra={"user_id": user.pk})
    return user


def registration_attempt_notify(*, email: str) -> None:
    """Someone registered with an address that has an account: the owner gets an e-mail (log in or reset the
    password), the visitor the same page as for a new address. The password is hashed anyway, so the answer takes
    as long as a real registration."""
    from accounts.tasks import REGISTRATION_ATTEMPT_TOPIC

    make_password(secrets.token_urlsafe(16))
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        with transaction.atomic():
            outbox_write(
                topic=REGISTRATION_ATTEMPT_TOPIC, key=f"user:{user.pk}:{uuid.uuid4()}", payload={"user_id": user.pk}
            )


def registration_attempt_mail_deliver(*, user_id: int) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    links = {
        "login": settings.PORTAL_BASE_URL.rstrip("/") + reverse("accounts:login"),
        "reset": settings.PORTAL_BASE_URL.rstrip("/") + reverse("accounts:password-reset"),
    }
    with translation.override(user.correspondence_language):
        body = render_to_string("accounts/email/registration_attempt.txt", links)
        send_mail(gettext("Your FinLab account"), body, None, [user.email])


def email_confirmation_token(*, user: User) -> str:
    return signing.dumps({"user_id": user.pk, "email": user.email}, salt=_CONFIRMATION_SALT)


def email_confirmation_deliver(*, user_id: int) -> None:
    """Sends the confirmation link and stamps the user; safe to run twice (a second e-mail is harmless)."""
    user = User.objects.filter(pk=user_id, email_confirmed_at__isnull=True).first()
    if user is None:
        return
    link = settings.PORTAL_BASE_URL.rstrip("/") + reverse(
        "accounts:email-confirm", kwargs={"token": email_confirmation_token(user=user)}
    )
    with translation.override(user.correspondence_language):
        body = render_to_string("accounts/email/confirmation.txt", {"link": link})
        send_mail(gettext("Confirm your FinLab account"), body, None, [user.email])
    User.objects.filter(pk=user.pk).update(confirmation_sent_at=timezone.now())


def email_confirmation_resend(*, email: str) -> None:
    """Sends the confirmation link again to an account that is still waiting for it; nothing for any other address
    (the caller answers alike either way, so the page tells nobody whether an address has an account). At most one
    new e-mail per address and minute, counted by a hash of the address."""
    from accounts.tasks import EMAIL_CONFIRMATION_TOPIC

    if request_rate_exceeded(scope="confirmation-resend-address", client=email.strip().lower(), limit_per_minute=1):
        return
    user = User.objects.filter(email__iexact=email.strip(), email_confirmed_at__isnull=True).first()
    if user is None:
        return
    with transaction.atomic():
        outbox_write(
            topic=EMAIL_CONFIRMATION_TOPIC, key=f"user:{user.pk}:resend:{uuid.uuid4()}", payload={"user_id": user.pk}
        )


def email_confirm(*, token: str) -> User:
    """Activates the account the link was made for. Links expire and stop working once the e-mail changes."""
    try:
        payload = signing.loads(token, salt=_CONFIRMATION_SALT, max_age=settings.EMAIL_CONFIRMATION_MAX_AGE_SECONDS)
    except signing.SignatureExpired as error:
        raise ApplicationError(gettext_lazy("This confirmation link has expired."), code="link_expired") from error
    except signing.BadSignature as error:
        raise ApplicationError(gettext_lazy("This confirmation link is not valid."), code="link_invalid") from error
    user = User.objects.filter(pk=payload.get("user_id"), email=payload.get("email")).first()
    if user is None:
        raise ApplicationError(gettext_lazy("This confirmation link is not valid."), code="link_invalid")
    if user.email_confirmed_at is None:
        User.objects.filter(pk=user.pk).update(is_active=True, email_confirmed_at=timezone.now())
        user.refresh_from_db()
    return user


# --- Login lockout -------------------------------------------------------------------------------------------------
# Counters are keyed by hashes, so the cache holds neither e-mail addresses nor client addresses.


def _lockout_key(kind: str, value: str) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{kind}:{value.strip().lower()}".encode()).hexdigest()
    return f"login-failures:{kind}:{digest[:40]}"


def login_is_locked(*, email: str, client_address: str) -> bool:
    """True once an account or an address has failed `LOGIN_FAILURE_LIMIT` times within the lockout window."""
    keys = [_lockout_key("email", email), _lockout_key("address", client_address)]
    counts = cache.get_many(keys)
    return any(count >= settings.LOGIN_FAILURE_LIMIT for count in counts.values())


def login_failure_record(*, email: str, client_address: str) -> None:
    for key in (_lockout_key("email", email), _lockout_key("address", client_address)):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    logger.warning("login failed", extra={"reason": "bad_credentials"})


def login_failures_clear(*, email: str) -> None:
    cache.delete(_lockout_key("email", email))


def request_rate_exceeded(*, scope: str, client: str, limit_per_minute: int) -> bool:
    """A fixed one-minute window per scope and (hashed) client; True when this request is over the limit.

    `client` is whatever the limit counts by: the client address before login, `user:<id>` for signed-in users.
    While the cache is unreachable the limit steps aside (logged), like the API's throttles: a Redis restart must
    not turn every form into an error page. The login lockout (`login_is_locked`) does not step aside."""
    key = _lockout_key(f"rate:{scope}:{int(timezone.now().timestamp() // 60)}", client)
    try:
        cache.add(key, 0, timeout=120)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=120)
            count = 1
    except CACHE_ERRORS as error:
        logger.warning("rate limit %s not applied: the cache is unreachable (%s)", scope, error)
        return False
    return count > limit_per_minute


# --- Second factor -------------------------------------------------------------------------------------------------


def _totp_device_create(*, user: User, confirmed: bool, secret: bytes | None = None) -> EncryptedTotpDevice:
    secret = secret or secrets.token_bytes(20)
    encrypted = field_encrypt(plaintext=secret, context=EncryptedTotpDevice.secret_context(user.pk))
    return EncryptedTotpDevice.objects.create(
        user=user, name="Authenticator app", confirmed=confirmed, encrypted_key=encrypted
    )


def totp_device_get_or_create_unconfirmed(*, user: User) -> EncryptedTotpDevice:
    """The device a user is enrolling: reused until confirmed, so reloading the setup page keeps the same secret."""
    device = EncryptedTotpDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = _totp_device_create(user=user, confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, device: EncryptedTotpDevice, token: str) -> list[str] | None:
    """Confirms enrolment when the first code from the app matches and returns the user's new recovery codes (to be
    shown once); returns None and changes nothing otherwise."""
    if not device.verify_token(token):
        return None
    EncryptedTotpDevice.objects.filter(user=device.user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_regenerate(user=device.user)


def totp_device_create_confirmed(*, user: User, key_hex: str | None = None) -> EncryptedTotpDevice:
    """An enrolled device with a given secret (hex): for demo data and provisioning scripts."""
    return _totp_device_create(user=user, confirmed=True, secret=bytes.fromhex(key_hex) if key_hex else None)


RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def recovery_code_hash(code: str) -> str:
    """SHA-256 of the code without separators or case: what is stored and looked up."""
    normalised = "".join(character for character in code.lower() if character.isalnum())
    return hashlib.sha256(f"finlab-recovery-code:{normalised}".encode()).hexdigest()


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Replaces the user's recovery codes with RECOVERY_CODE_COUNT new ones (12 characters, ~59 bits each); returns
    them in clear for showing once: only their hashes are stored."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=recovery_code_hash(code)) for code in codes)
    return codes


@transaction.atomic
def recovery_code_use(*, user: User, code: str) -> bool:
    """Spends one unused recovery code of `user`; False (and nothing changes) when it is unknown or already used."""
    recovery_code = (
        RecoveryCode.objects.select_for_update()
        .filter(user=user, code_hash=recovery_code_hash(code), used_at__isnull=True)
        .first()
    )
    if recovery_code is None:
        return False
    recovery_code.used_at = timezone.now()
    recovery_code.save(update_fields=["used_at"])
    return True


# --- API tokens ------------------------------------------------------------------------------------------------


def api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Issues a bearer token; the raw value is returned once and never stored."""
    raw = "fl_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:8], key_hash=api_token_hash(raw))
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_preferences_update(*, user: User, language: str | None = None, time_zone: str | None = None) -> User:
    """Stores the user's page language ("" = follow the browser) and time zone; only the values given change."""
    changed: list[str] = []
    if language is not None:
        if language and language not in dict(settings.LANGUAGES):
            raise ValidationFailed(gettext_lazy("This language is not offered."), code="unknown_language")
        user.language = language
        changed.append("language")
    if time_zone is not None:
        if time_zone not in zoneinfo.available_timezones():
            raise ValidationFailed(gettext_lazy("This time zone is not known."), code="unknown_time_zone")
        user.time_zone = time_zone
        changed.append("time_zone")
    if changed:
        user.save(update_fields=changed)
    return user
