"""Reads with a rule in accounts."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import ApiToken, RoleChange, StaffInvitation, User
from accounts.roles import Role


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def api_token_get_for_user(*, user: User, token_id: int) -> ApiToken:
    """404 both when the token does not exist and when it belongs to someone else."""
    token = api_token_list_for_user(user=user).filter(pk=token_id).first()
    if token is None:
        raise Http404
    return token


def user_requires_second_factor(*, user: User) -> bool:
    from accounts.roles import ROLES_REQUIRING_SECOND_FACTOR

    return user.is_authenticated and user.role in ROLES_REQUIRING_SECOND_FACTOR


def user_has_confirmed_device(*, user: User) -> bool:
    from accounts.models import EncryptedTotpDevice

    return EncryptedTotpDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_unused_count(*, user: User) -> int:
    from accounts.models import RecoveryCode

    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def customer_search(*, query: str = "", user_ids: Iterable[int] = ()) -> QuerySet[User]:
    """Customers for back office, by e-mail address (or part of it) or among ``user_ids`` (the owners of a reference
    another app found), ordered by e-mail; every customer without a query."""
    customers = User.objects.filter(area_role=Role.CUSTOMER)
    query = query.strip()
    if query:
        customers = customers.filter(Q(email__icontains=query) | Q(pk__in=list(user_ids)))
    return customers.order_by("email", "pk")


def staff_list() -> QuerySet[User]:
    """Dealer and back-office users, back office first, then by dealership and e-mail."""
    return (
        User.objects.filter(area_role__in=[Role.BACK_OFFICE, Role.DEALER])
        .select_related("dealer_organisation")
        .order_by("area_role", "dealer_organisation__name", "email")
    )


def staff_get(*, user_id: int) -> User:
    """A dealer or back-office user; 404 for anyone else, so customers cannot be reached through staff pages."""
    user = staff_list().filter(pk=user_id).first()
    if user is None:
        raise Http404("No such staff member.")
    return user


def staff_invitation_open_list() -> QuerySet[StaffInvitation]:
    return StaffInvitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related(
        "dealer_organisation", "invited_by"
    )


def staff_invitation_get(*, invitation_id: int) -> StaffInvitation:
    invitation = StaffInvitation.objects.filter(pk=invitation_id).select_related("dealer_organisation").first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def role_change_list_for_user(*, user: User) -> QuerySet[RoleChange]:
    return RoleChange.objects.filter(user=user).select_related(
        "changed_by", "old_dealer_organisation", "new_dealer_organisation"
    )
