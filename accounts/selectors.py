"""Reads with a rule in accounts."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import ApiToken, User


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
