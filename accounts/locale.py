"""The signed-in user's language and time zone, applied to a request (accounts.User.language / time_zone)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.http import HttpRequest
from django.utils import timezone, translation


def user_locale_activate(request: HttpRequest, user: Any) -> None:
    """The user's stored language (when they chose one) and time zone, for the rest of this request. API calls with a
    token are authenticated by DRF inside the view, after the middleware ran: `ApiTokenAuthentication` calls this
    then, and the middleware's `finally` still ends the zone with the request."""
    if user.language:
        translation.activate(user.language)
        request.LANGUAGE_CODE = translation.get_language()
    timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
