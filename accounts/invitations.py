"""Staff administration: inviting dealer and back-office users by e-mail, accepting an invitation, changing a
staff member's role. Every change of role is written to `RoleChange`; only holders of `accounts.manage_staff` act."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from accounts.models import DealerOrganisation, RoleChange, StaffInvitation, User
from accounts.roles import Role
from accounts.services import user_create, user_role_set
from core.errors import ApplicationError, ConflictError, ValidationFailed
from core.outbox import outbox_write

logger = logging.getLogger(__name__)

INVITATION_TOPIC = "accounts.staff_invitation_send"
INVITATION_VALIDITY = timedelta(days=7)
STAFF_ROLES = (Role.DEALER, Role.BACK_OFFICE)
_LINK_SALT = "accounts.staff-invitation"
MANAGE_STAFF = "accounts.manage_staff"


class StaffAdminRequired(ApplicationError):
    """The acting user may not manage staff (HTTP 403)."""

    status = 403
    code = "not_staff_admin"


def staff_admin_check(*, user: User) -> None:
    """Only an active back-office user holding `accounts.manage_staff` invites staff or changes roles."""
    if user.role != Role.BACK_OFFICE or not user.has_perm(MANAGE_STAFF):
        raise StaffAdminRequired(gettext_lazy("Only staff administrators manage staff."))


def _organisation_check(*, role: Role, dealer_organisation: DealerOrganisation | None) -> None:
    if role not in STAFF_ROLES:
        raise ValidationFailed(
            gettext_lazy("Choose dealer or back office."), code="bad_role", fields={"role": ["invalid"]}
        )
    if role == Role.DEALER and dealer_organisation is None:
        raise ValidationFailed(
            gettext_lazy("Choose the dealership this person works for."),
            code="organisation_required",
            fields={"dealer_organisation": ["required"]},
        )
    if role == Role.BACK_OFFICE and dealer_organisation is not None:
        raise ValidationFailed(
            gettext_lazy("Back-office users belong to no dealership."),
            code="organisation_not_allowed",
            fields={"dealer_organisation": ["not_allowed"]},
        )


def staff_invitation_create(
    *,
    invited_by: User,
    email: str,
    display_name: str,
    role: Role,
    dealer_organisation: DealerOrganisation | None = None,
) -> StaffInvitation:
    """Records the invitation and sends its link by e-mail after commit. An earlier open invitation to the same address
    is withdrawn, so only the newest link works."""
    staff_admin_check(user=invited_by)
    _organisation_check(role=role, dealer_organisation=dealer_organisation)
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ConflictError(
            gettext_lazy("An account with this e-mail exists; change its role instead."),
            code="email_taken",
            fields={"email": ["taken"]},
        )
    now = timezone.now()
    with transaction.atomic():
        StaffInvitation.objects.filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        invitation = StaffInvitation.objects.create(
            email=email,
            display_name=display_name.strip(),
            role=role.value,
            dealer_organisation=dealer_organisation,
            nonce=secrets.token_urlsafe(24),
            invited_by=invited_by,
            created_at=now,
            expires_at=now + INVITATION_VALIDITY,
        )
        outbox_write(
            topic=INVITATION_TOPIC, key=f"invitation:{invitation.pk}", payload={"invitation_id": invitation.pk}
        )
    logger.info("staff invitation created", extra={"invitation_id": invitation.pk, "role": role.value})
    return invitation


def staff_invitation_token(*, invitation: StaffInvitation) -> str:
    """The secret of the link: signed with the site's key, naming the row and its nonce (never stored as such)."""
    return signing.dumps({"invitation_id": invitation.pk, "nonce": invitation.nonce}, salt=_LINK_SALT)


def staff_invitation_deliver(*, invitation_id: int) -> None:
    """Sends the invitation e-mail (plain text, in the portal's default language: the invitee has chosen none yet).
    Safe to run twice: a second e-mail carries the same link."""
    invitation = StaffInvitation.objects.filter(pk=invitation_id).select_related("invited_by").first()
    if invitation is None or not invitation.is_open:
        return
    link = settings.PORTAL_BASE_URL.rstrip("/") + reverse(
        "accounts:invitation-accept", kwargs={"token": staff_invitation_token(invitation=invitation)}
    )
    with translation.override(invitation.invited_by.language or settings.LANGUAGE_CODE):
        context = {
            "link": link,
            "name": invitation.display_name,
            "inviter": invitation.invited_by.shown_name,
            "role": Role(invitation.role).label,
            "valid_days": INVITATION_VALIDITY.days,
        }
        body = render_to_string("accounts/email/staff_invitation.txt", context)
        send_mail(gettext("Your invitation to the FinLab portal"), body, None, [invitation.email])


def staff_invitation_get_by_token(*, token: str) -> StaffInvitation:
    """The open invitation a link names; one error for a forged, expired, used or withdrawn link alike."""
    refused = ApplicationError(gettext_lazy("This invitation link is not valid any more."), code="invitation_invalid")
    try:
        payload = signing.loads(token, salt=_LINK_SALT, max_age=int(INVITATION_VALIDITY.total_seconds()))
    except signing.BadSignature as error:
        raise refused from error
    invitation = (
        StaffInvitation.objects.filter(pk=payload.get("invitation_id"), nonce=payload.get("nonce"))
        .select_related("dealer_organisation")
        .first()
    )
    if invitation is None or not invitation.is_open:
        raise refused
    return invitation


def staff_invitation_accept(*, token: str, display_name: str, password: str, language: str = "") -> User:
    """Creates the invited user (e-mail confirmed: the link reached that mailbox) and marks the invitation used, once.
    The user's first login continues with enrolling the second factor. `language` is the page language of the
    acceptance (the request's active language); mail follows it until the user chooses one."""
    with transaction.atomic():
        invitation = staff_invitation_get_by_token(token=token)
        invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_open:
            raise ApplicationError(
                gettext_lazy("This invitation link is not valid any more."), code="invitation_invalid"
            )
        try:
            with transaction.atomic():
                user = user_create(
                    email=invitation.email,
                    password=password,
                    role=Role(invitation.role),
                    dealer_organisation=invitation.dealer_organisation,
                    signup_language=language,
                )
        except IntegrityError as error:
            raise ConflictError(gettext_lazy("An account with this e-mail exists."), code="email_taken") from error
        User.objects.filter(pk=user.pk).update(display_name=display_name.strip() or invitation.display_name)
        user.refresh_from_db()
        now = timezone.now()
        StaffInvitation.objects.filter(pk=invitation.pk).update(accepted_at=now, accepted_user=user)
        RoleChange.objects.create(
            user=user,
            changed_by=invitation.invited_by,
            old_role="",
            new_role=invitation.role,
            new_dealer_organisation=invitation.dealer_organisation,
            invitation=invitation,
            created_at=now,
        )
    logger.info("staff invitation accepted", extra={"invitation_id": invitation.pk, "user_id": user.pk})
    return user


def staff_invitation_revoke(*, invitation: StaffInvitation, revoked_by: User) -> None:
    """Withdraws an open invitation: its link stops working at once."""
    staff_admin_check(user=revoked_by)
    updated = StaffInvitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise ConflictError(gettext_lazy("This invitation was already used or withdrawn."), code="invitation_closed")


@transaction.atomic
def staff_role_change(
    *, user: User, role: Role, dealer_organisation: DealerOrganisation | None, changed_by: User
) -> RoleChange:
    """Moves a dealer or back-office user to another staff role or dealership, with an audit row. Administrators
    cannot change their own role (nobody locks the last administrator out by mistake)."""
    staff_admin_check(user=changed_by)
    _organisation_check(role=role, dealer_organisation=dealer_organisation)
    if user.pk == changed_by.pk:
        raise ConflictError(gettext_lazy("You cannot change your own role."), code="own_role")
    old_role, old_organisation = user.area_role, user.dealer_organisation
    if old_role not in {staff_role.value for staff_role in STAFF_ROLES}:
        raise ConflictError(gettext_lazy("Only dealer and back-office users are managed here."), code="not_staff")
    if old_role == role.value and old_organisation == dealer_organisation:
        raise ConflictError(gettext_lazy("The user already has this role."), code="role_unchanged")
    user_role_set(user=user, role=role, dealer_organisation=dealer_organisation)
    change = RoleChange.objects.create(
        user=user,
        changed_by=changed_by,
        old_role=old_role,
        new_role=role.value,
        old_dealer_organisation=old_organisation,
        new_dealer_organisation=dealer_organisation,
    )
    logger.info("staff role changed", extra={"user_id": user.pk, "role": role.value})
    return change


def user_display_name_set(*, user: User, display_name: str) -> User:
    """The name pages show others for this person ("Approved by Anna Schmidt"); empty falls back to the e-mail."""
    display_name = display_name.strip()[:120]
    User.objects.filter(pk=user.pk).update(display_name=display_name)
    user.display_name = display_name
    return user


def staff_admin_grant(*, user: User) -> None:
    """Makes a back-office user a staff administrator (demo data and the first administrator of an installation)."""
    if user.role != Role.BACK_OFFICE:
        raise ValidationFailed(gettext_lazy("Only back-office users administer staff."), code="bad_role")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="accounts", codename="manage_staff"))
