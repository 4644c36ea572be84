"""The API error contract: every error is `{"code", "detail", "fields"}` with a correct HTTP status."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError

logger = logging.getLogger(__name__)

_CODES_BY_EXCEPTION: list[tuple[type[Exception], str]] = [
    (exceptions.ParseError, "malformed_request"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ValidationError, "invalid_input"),
]


def error_body(*, code: str, detail: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one shape of an API error body."""
    return {"code": code, "detail": detail, "fields": fields or {}}


def _flatten_detail(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten_detail(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten_detail(item) for item in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: domain errors, DRF errors and Django's 404/403 all leave in the same shape."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(code=exc.code, detail=exc.detail, fields=exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((name for cls, name in _CODES_BY_EXCEPTION if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_detail(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        response.data = error_body(code=code, detail=_("The request has invalid fields."), fields=fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(code=code, detail=str(detail))
    return response


# Paths whose clients are programs: errors there are JSON in the one error shape, never an HTML page.
API_PATH_PREFIXES = ("/api/", "/credentials/", "/presentations/", "/.well-known/", "/dealers/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PATH_PREFIXES)


def _is_api(request: HttpRequest) -> bool:
    return is_api_path(request.path)


def json_error(request: HttpRequest, *, status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(error_body(code=code, detail=detail), status=status_code)


def handler400(request: HttpRequest, exception: Exception) -> Any:
    """Bad requests outside DRF's reach (oversized bodies, suspicious headers): JSON for the API, a page otherwise."""
    if _is_api(request):
        return json_error(request, status_code=400, code="bad_request", detail=_("The request could not be read."))
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> Any:
    if _is_api(request):
        return json_error(request, status_code=404, code="not_found", detail=_("Not found."))
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> Any:
    if _is_api(request):
        return json_error(request, status_code=403, code="permission_denied", detail=_("Permission denied."))
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def handler500(request: HttpRequest) -> Any:
    if _is_api(request):
        return json_error(request, status_code=500, code="server_error", detail=_("Internal error."))
    from django.views.defaults import server_error

    return server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> Any:
    """CSRF failures: JSON for API clients using the session, the standard page for browsers."""
    if _is_api(request):
        return json_error(request, status_code=403, code="csrf_failed", detail=_("CSRF verification failed."))
    from django.views.csrf import csrf_failure as default_csrf_failure

    return default_csrf_failure(request, reason=reason)


__all__ = ["error_body", "exception_handler", "status"]
