"""Role checks for pages and API views. Every view names the roles it serves."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import User
from accounts.roles import ROLES_REQUIRING_SECOND_FACTOR, Role


def user_has_role(user: Any, *roles: Role) -> bool:
    """Whether `user` is an active person in one of `roles`: read from the user's row (`User.role`), no query.

    Only `accounts.User` has a role; machine and issuer principals, and anonymous visitors, have none."""
    return isinstance(user, User) and user.role in roles


def user_is_verified(user: Any) -> bool:
    """Staff roles must have passed the second factor in this session (or hold an API token)."""
    if getattr(user, "role", None) not in ROLES_REQUIRING_SECOND_FACTOR:
        return True
    return bool(getattr(user, "is_verified", lambda: False)())


def role_required(*roles: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Page decorator: anonymous users go to the login page, other roles get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_has_role(request.user, *roles) or not user_is_verified(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorator


class _RolePermission(BasePermission):
    roles: tuple[Role, ...] = ()
    message = "Your role may not use this endpoint."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not user_has_role(request.user, *self.roles):
            return False
        if not user_is_verified(request.user):
            self.message = "Complete the second factor first."
            return False
        return True


class IsCustomer(_RolePermission):
    roles = (Role.CUSTOMER,)


class IsDealer(_RolePermission):
    roles = (Role.DEALER,)


class IsBackOffice(_RolePermission):
    roles = (Role.BACK_OFFICE,)


class IsDealerOrBackOffice(_RolePermission):
    roles = (Role.DEALER, Role.BACK_OFFICE)


class IsAnyRole(_RolePermission):
    roles = (Role.CUSTOMER, Role.DEALER, Role.BACK_OFFICE)
