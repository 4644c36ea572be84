"""Per-request guards and settings of signed-in users: the second factor, their language and time zone."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.locale import user_locale_activate
from accounts.selectors import user_has_confirmed_device, user_requires_second_factor
from core.api import error_body

# The unsubscribe link works without a session (RFC 8058), so a half-finished login does not stand in its way.
_ALWAYS_ALLOWED_PREFIXES = ("/static/", "/health/", "/accounts/logout/", "/accounts/mfa/", "/accounts/unsubscribe/")


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
                body = error_body(code="second_factor_required", detail=_("Complete the second factor first."))
                return JsonResponse(body, status=403)
            name = "accounts:mfa-verify" if user_has_confirmed_device(user=user) else "accounts:mfa-setup"
            return HttpResponseRedirect(reverse(name))
        return self.get_response(request)


class UserLocaleMiddleware:
    """Applies the signed-in user's language and time zone to the request (after LocaleMiddleware and login).

    The user's stored language wins over the cookie and the browser, so the choice made with the header switch follows
    the person to every device and survives logging out and in. Visitors who are not signed in keep what
    LocaleMiddleware chose (cookie, then Accept-Language) and the portal's zone (settings.TIME_ZONE).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_locale_activate(request, user)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
