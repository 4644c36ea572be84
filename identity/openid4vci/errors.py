"""OAuth 2.0 errors of the issuer's endpoints.

The token, nonce and credential endpoints follow OAuth's error format (RFC 6749 5.2, RFC 6750 3.1, OpenID4VCI 1.0
8.3.1.2): a JSON body ``{"error": ..., "error_description": ...}`` with the status the specification names, not the
portal's ``{"code", ...}`` contract, because wallets written against the specification parse these.
"""

from __future__ import annotations

from django.http import JsonResponse


class OAuthError(Exception):
    """A refusal in OAuth form: ``error`` is the registered code, ``description`` a sentence for developers."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": self.error, "error_description": self.description}, status=self.status)
        response["Cache-Control"] = "no-store"
        if self.status == 401:
            response["WWW-Authenticate"] = f'Bearer error="{self.error}", error_description="{self.description}"'
        return response


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_token(description: str) -> OAuthError:
    return OAuthError("invalid_token", description, status=401)


def invalid_proof(description: str) -> OAuthError:
    return OAuthError("invalid_proof", description)


def invalid_nonce(description: str) -> OAuthError:
    return OAuthError("invalid_nonce", description)
