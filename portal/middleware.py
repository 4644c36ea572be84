"""Request guards that apply to the whole portal."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _

from core.api import is_api_path, json_error
from core.client_address import is_from_trusted_proxy

FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"


class RejectNulBytesMiddleware:
    """Refuses a NUL character in the path, query string or a cookie with 400 before any view or session runs.

    PostgreSQL text cannot hold NUL, so such a value would otherwise fail deep inside a query as a server error.
    Form and JSON fields are refused by Django's and DRF's field validators already.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        has_nul_cookie = any("\x00" in value for value in request.COOKIES.values())
        if "\x00" in request.path or "%00" in query or "\x00" in query or has_nul_cookie:
            if is_api_path(request.path):
                return json_error(
                    request, status_code=400, code="malformed_request", detail=_("NUL characters are not allowed.")
                )
            return HttpResponseBadRequest("NUL characters are not allowed.")
        return self.get_response(request)


class UntrustedForwardedProtoMiddleware:
    """Drops `X-Forwarded-Proto` unless the TCP peer is a proxy named in `PORTAL_TRUSTED_PROXIES`.

    Production sets `SECURE_PROXY_SSL_HEADER`, so Django believes this header when it decides whether a request came
    over HTTPS (secure cookies, the HTTPS redirect, CSRF's referer check). Without this guard any client reaching a
    web host directly could claim HTTPS. It runs before `SecurityMiddleware`, the first to ask `is_secure()`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if FORWARDED_PROTO in request.META and not is_from_trusted_proxy(request):
            del request.META[FORWARDED_PROTO]
        return self.get_response(request)
