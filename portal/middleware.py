"""Request guards that apply to the whole portal."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
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


# What a view may set on its response (django-csp's decorators) to change the policy for that response alone.
_PER_RESPONSE_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


@functools.cache
def _settings_policies() -> tuple[str, str]:
    """The Content-Security-Policy and its report-only twin as the settings give them, built once per process."""
    return build_policy(), build_policy(report_only=True)


@receiver(setting_changed)
def _settings_policies_forget(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policies.cache_clear()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy of the settings built once instead of twice per response (about a
    tenth of a bare API request's time). A response with a policy of its own (django-csp's decorators) or a request
    that used a nonce gets django-csp's own handling."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE_POLICY
        ):
            return super().process_response(request, response)
        return self._with_settings_policies(request, response)

    def _with_settings_policies(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        # django-csp's process_response for a response without a policy of its own, in the same order.
        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        policy, report_only = _settings_policies()
        for header, value, exempt, setting in (
            (HEADER, policy, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, report_only, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            if not value or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = value
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
