"""HTTP endpoints of the OpenID4VP verifier, for wallets: the request object by reference and the response
endpoint. Plain Django views (no session, no CSRF: wallets are not browsers of the portal), answering OAuth error
JSON (``error``, ``error_description``) plus the named ``reason`` of a refusal."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from identity.openid4vp import transactions

REQUEST_OBJECT_CONTENT_TYPE = "application/oauth-authz-req+jwt"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def request_object_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """``request_uri``: the signed request object of a waiting transaction (RFC 9101, OpenID4VP 1.0 section 5.7)."""
    token = transactions.request_object_for(public_id=public_id)
    if token is None:
        return _no_store(
            JsonResponse(
                {
                    "error": "invalid_request_uri",
                    "error_description": "No authorization request is waiting at this address.",
                },
                status=404,
            )
        )
    return _no_store(HttpResponse(token, content_type=REQUEST_OBJECT_CONTENT_TYPE))


@csrf_exempt
@require_POST
def response_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """``response_uri`` for ``direct_post`` (``vp_token``, ``state``) and ``direct_post.jwt`` (``response``)."""
    form = {
        name: request.POST.get(name, "") for name in ("response", "vp_token", "state", "error", "error_description")
    }
    form = {name: value for name, value in form.items() if value}
    try:
        outcome = transactions.presentation_response_receive(public_id=public_id, form=form)
    except transactions.VerifierError as error:
        body = {"error": error.error, "error_description": error.description, "reason": error.reason}
        return _no_store(JsonResponse(body, status=error.status))
    body = {"redirect_uri": outcome.redirect_uri} if outcome.redirect_uri else {}
    return _no_store(JsonResponse(body))
