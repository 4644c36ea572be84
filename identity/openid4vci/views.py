"""HTTP endpoints of the OpenID4VCI issuer and the customer's "Get credentials" page.

The metadata, token, nonce and credential endpoints are plain Django views, not DRF: they take OAuth form bodies
and bearer tokens from wallets (no session, hence no CSRF), and answer OAuth error JSON (see errors.py). They are
therefore not in the portal's OpenAPI schema. The authorization endpoint and the offer page are session pages of
a logged-in customer with CSRF protection.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import segno
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import role_required
from accounts.roles import Role
from identity.credentials.encoding import b64url_decode
from identity.openid4vci import certificates, grants, issuance, metadata
from identity.openid4vci.configurations import (
    credential_configuration_by_type_name,
    credential_configuration_get,
    credential_configurations,
)
from identity.openid4vci.errors import OAuthError, invalid_request, invalid_token

OFFER_SCHEME = "openid-credential-offer://"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def credential_issuer_metadata_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(metadata.credential_issuer_metadata())


@require_GET
def authorization_server_metadata_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(metadata.authorization_server_metadata())


@require_GET
def type_metadata_view(request: HttpRequest, type_name: str) -> JsonResponse:
    configuration = credential_configuration_by_type_name(type_name)
    if configuration is None:
        raise Http404("unknown credential type")
    return JsonResponse(metadata.type_metadata(configuration))


def _oauth(view: Any) -> Any:
    """Turn an OAuthError into its JSON answer; only POST is accepted."""

    @csrf_exempt
    @require_POST
    def wrapped(request: HttpRequest) -> HttpResponse:
        try:
            return _no_store(view(request))
        except OAuthError as error:
            return error.response()

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@_oauth
def nonce_view(request: HttpRequest) -> HttpResponse:
    """Nonce endpoint (OpenID4VCI 1.0 section 7): a fresh single-use ``c_nonce``."""
    nonce, _lifetime = grants.nonce_create()
    return JsonResponse({"c_nonce": nonce})


def _form_value(request: HttpRequest, name: str) -> str:
    values = request.POST.getlist(name)
    if len(values) > 1:
        raise invalid_request(f"{name} is repeated.")
    return values[0] if values else ""


@_oauth
def token_view(request: HttpRequest) -> HttpResponse:
    """Token endpoint: the pre-authorized code grant (with tx_code) and the authorization code grant (PKCE)."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise invalid_request("The token request is form-encoded.")
    resource = _form_value(request, "resource")
    if resource and resource != certificates.credential_issuer_url():
        raise OAuthError("invalid_target", "The resource is not this credential issuer.")
    grant_type = _form_value(request, "grant_type")
    if grant_type == metadata.PRE_AUTHORIZED_GRANT:
        code = _form_value(request, "pre-authorized_code")
        if not code:
            raise invalid_request("pre-authorized_code is missing.")
        granted = grants.pre_authorized_code_exchange(code=code, tx_code=_form_value(request, "tx_code") or None)
    elif grant_type == "authorization_code":
        code, verifier = _form_value(request, "code"), _form_value(request, "code_verifier")
        client_id, redirect_uri = _form_value(request, "client_id"), _form_value(request, "redirect_uri")
        if not code or not verifier or not client_id or not redirect_uri:
            raise invalid_request("code, code_verifier, client_id and redirect_uri are required.")
        if client_id not in grants.public_clients():
            raise OAuthError("invalid_client", "Unknown client.", status=401)
        granted = grants.authorization_code_exchange(
            code=code, client_id=client_id, redirect_uri=redirect_uri, code_verifier=verifier
        )
    else:
        raise OAuthError("unsupported_grant_type", "Use the pre-authorized code or the authorization code grant.")
    return JsonResponse(
        {"access_token": granted.access_token, "token_type": "Bearer", "expires_in": granted.expires_in}
    )


@_oauth
def credential_view(request: HttpRequest) -> HttpResponse:
    """Credential endpoint: a bearer access token, one key proof, one SD-JWT VC back."""
    scheme, _space, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise invalid_token("A bearer access token is required.")
    token = grants.access_token_resolve(token=value.strip())
    if token is None:
        raise invalid_token("The access token is unknown or expired.")
    if request.content_type != "application/json":
        raise OAuthError("invalid_credential_request", "The credential request is JSON.")
    try:
        body = json.loads(request.body)
    except ValueError as error:
        raise OAuthError("invalid_credential_request", "The credential request is not JSON.") from error
    if not isinstance(body, dict):
        raise OAuthError("invalid_credential_request", "The credential request is a JSON object.")
    configuration_id, proof_jwt = issuance.credential_request_parse(body)
    if credential_configuration_get(configuration_id) is None or configuration_id not in (
        token.credential_configuration_ids
    ):
        raise OAuthError("unknown_credential_configuration", "This credential configuration is not offered here.")
    now = timezone.now()
    holder_key = issuance.key_proof_verify(proof_jwt=proof_jwt, now=now)
    credential = issuance.credential_issue(
        token=token, configuration_id=configuration_id, holder_key=holder_key, now=now
    )
    return JsonResponse({"credentials": [{"credential": credential}]})


def _authorization_error(redirect_uri: str, state: str, error: str, description: str) -> HttpResponseRedirect:
    query = {"error": error, "error_description": description, "iss": certificates.credential_issuer_url()}
    if state:
        query["state"] = state
    return HttpResponseRedirect(f"{redirect_uri}?{urlencode(query)}")


def _requested_configurations(params: Any) -> list[str] | None:
    """Configuration ids from ``scope`` (space-separated) or ``authorization_details`` (openid_credential)."""
    requested = [value for value in params.get("scope", "").split() if value]
    details = params.get("authorization_details")
    if details:
        try:
            parsed = json.loads(details)
            requested += [
                entry["credential_configuration_id"] for entry in parsed if entry["type"] == "openid_credential"
            ]
        except (ValueError, KeyError, TypeError):
            return None
    if not requested or any(credential_configuration_get(value) is None for value in requested):
        return None
    return sorted(set(requested))


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def authorize_view(request: HttpRequest) -> HttpResponse:
    """Authorization endpoint: the customer sees which credentials a wallet asks for and allows or refuses.

    An unknown client or a redirect URI not registered for it is shown as an error page (never redirected to);
    every other error goes back to the wallet's redirect URI as an OAuth error response."""
    params = request.POST if request.method == "POST" else request.GET
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    if not grants.redirect_uri_allowed(client_id=client_id, redirect_uri=redirect_uri):
        return render(request, "identity/openid4vci/authorize_refused.html", status=400)
    state = params.get("state", "")
    if params.get("response_type") != "code":
        return _authorization_error(redirect_uri, state, "unsupported_response_type", "Only response_type=code.")
    challenge, method = params.get("code_challenge", ""), params.get("code_challenge_method", "")
    if method != "S256" or len(challenge) != 43 or not _is_b64url(challenge):
        return _authorization_error(redirect_uri, state, "invalid_request", "PKCE with S256 is required.")
    configuration_ids = _requested_configurations(params)
    if configuration_ids is None:
        return _authorization_error(redirect_uri, state, "invalid_scope", "Unknown credential configuration.")
    # issuer_state comes from a credential offer and is opaque to the wallet (OpenID4VCI 1.0 section 4.1.1); it is
    # kept through the consent form so that the request stays the one the offer set up
    if len(params.get("issuer_state", "")) > grants.ISSUER_STATE_MAX_LENGTH:
        return _authorization_error(redirect_uri, state, "invalid_request", "issuer_state is too long.")
    if request.method == "POST":
        if params.get("decision") != "allow":
            return _authorization_error(redirect_uri, state, "access_denied", "The customer refused.")
        code = grants.authorization_code_create(
            user=request.user,  # type: ignore[arg-type]
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
            configuration_ids=configuration_ids,
        )
        query = {"code": code, "iss": certificates.credential_issuer_url(), **({"state": state} if state else {})}
        return HttpResponseRedirect(f"{redirect_uri}?{urlencode(query)}")
    configurations = [credential_configuration_get(value) for value in configuration_ids]
    hidden = {
        name: params.get(name, "")
        for name in (
            "client_id",
            "redirect_uri",
            "state",
            "response_type",
            "code_challenge",
            "code_challenge_method",
            "issuer_state",
        )
        if params.get(name, "")
    }
    hidden["scope"] = " ".join(configuration_ids)
    client_name = gettext("FinLab browser wallet") if client_id == grants.BROWSER_WALLET_CLIENT_ID else client_id
    context = {"client_id": client_name, "configurations": configurations, "hidden": hidden}
    return _no_store(render(request, "identity/openid4vci/authorize.html", context))


def _is_b64url(value: str) -> bool:
    try:
        b64url_decode(value)
    except ValueError:
        return False
    return True


@role_required(Role.CUSTOMER)
@require_http_methods(["GET", "POST"])
def credential_offer_view(request: HttpRequest) -> HttpResponse:
    """ "Get credentials": a POST makes an offer for one configuration and shows its QR code, link and PIN once."""
    configurations = credential_configurations()
    context: dict[str, Any] = {"configurations": list(configurations.values())}
    if request.method == "POST":
        configuration_id = request.POST.get("configuration", "")
        if configuration_id not in configurations:
            context["error"] = True
            return render(request, "identity/openid4vci/offer.html", context, status=400)
        made = grants.credential_offer_create(
            user=request.user,  # type: ignore[arg-type]
            configuration_ids=[configuration_id],
            issuer_url=certificates.credential_issuer_url(),
        )
        query = urlencode({"credential_offer": json.dumps(made.credential_offer)})
        link = OFFER_SCHEME + "?" + query
        context.update(
            {
                "offered": configurations[configuration_id],
                "offer_link": link,
                "browser_wallet_link": reverse("identity:wallet") + "?" + query,
                "offer_qr_svg": segno.make_qr(link, error="l").svg_inline(scale=3, title="Credential offer"),
                "tx_code": made.tx_code,
                "expires_at": made.offer.expires_at,
            }
        )
    return _no_store(render(request, "identity/openid4vci/offer.html", context))
