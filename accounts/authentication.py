"""Bearer-token authentication for the API (`Authorization: Bearer fl_...`); tokens are looked up by hash."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, User
from accounts.services import api_token_hash

# How stale `ApiToken.last_used_at` may be. Writing it on every call would add a write and a commit to each API
# request, more than the work of a hot endpoint such as a redemption; staff need the day, not the second.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Tokens are issued to second-factor-verified users, so a token request counts as verified."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.") from error
        token = (
            ApiToken.objects.select_related("user", "user__dealer_organisation")
            .filter(key_hash=api_token_hash(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.user.is_verified = lambda: True  # type: ignore[attr-defined]
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
