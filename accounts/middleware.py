"""Keeps dealer and back-office sessions on the second-factor pages until they have passed it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from accounts.selectors import user_has_confirmed_device, user_requires_second_factor
from core.api import error_body

_ALWAYS_ALLOWED_PREFIXES = ("/static/", "/health/", "/accounts/logout/", "/accounts/mfa/")


class SecondFactorRequiredMiddleware:
    """Runs after django-otp's middleware, which sets `request.user.is_verified()`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_ALWAYS_ALLOWED_PREFIXES)
            and user_requires_second_factor(user=user)
            and not user.is_verified()
        ):
            if request.path.startswith("/api/"):
                body = error_body(code="second_factor_required", detail="Complete the second factor first.")
                return JsonResponse(body, status=403)
            name = "accounts:mfa-verify" if user_has_confirmed_device(user=user) else "accounts:mfa-setup"
            return HttpResponseRedirect(reverse(name))
        return self.get_response(request)
