"""VC-API authentication of registered issuers (``Authorization: Bearer fli_...``) and their permission class."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from identity import selectors
from identity.models import IssuerClient, TrustedIssuer
from identity.services.registry import ISSUER_CLIENT_KEY_PREFIX


class IssuerPrincipal:
    """The caller behind an issuer key: an organisation's system, not a person, so it has no role or permissions."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, client: IssuerClient) -> None:
        self.client = client
        self.issuer: TrustedIssuer = client.issuer
        self.pk = f"issuer-client-{client.pk}"

    def has_perm(self, permission: str, obj: Any = None) -> bool:
        return False

    def __str__(self) -> str:
        return f"issuer {self.issuer.pk}"


class IssuerClientAuthentication(authentication.BaseAuthentication):
    """Accepts only ``fli_`` keys and leaves every other bearer token to the accounts authentication."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[IssuerPrincipal, IssuerClient] | None:
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != self.keyword.lower().encode():
            return None
        try:
            raw = header[1].decode()
        except UnicodeError:
            return None
        if not raw.startswith(ISSUER_CLIENT_KEY_PREFIX):
            return None
        client = selectors.issuer_client_authenticate(raw_key=raw)
        if client is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked issuer key, or the issuer is suspended.")
        return IssuerPrincipal(client), client

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class IsIssuerClient(BasePermission):
    """The request carries a valid issuer key."""

    message = "An issuer key is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, IssuerClient)


class IssuerClientAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the issuer keys in the OpenAPI schema."""

    target_class = "identity.api.authentication.IssuerClientAuthentication"
    name = "issuerKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An issuer key (fli_...) from the trust registry"}
