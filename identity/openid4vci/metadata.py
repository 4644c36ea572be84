"""Metadata documents: credential issuer metadata, OAuth authorization server metadata, SD-JWT VC type metadata."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language

from identity.openid4vci import certificates
from identity.openid4vci.configurations import CredentialConfiguration, SignedBy, credential_configurations
from identity.openid4vci.issuance import FORMAT, PROOF_TYPE, type_url

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_ALGORITHMS = ["ES256", "EdDSA"]


def endpoint(path: str) -> str:
    return f"{certificates.credential_issuer_url()}{path}"


def _locale() -> str:
    return get_language() or "en"


def _configuration_entry(configuration: CredentialConfiguration) -> dict[str, Any]:
    algorithm = "ES256" if configuration.signed_by == SignedBy.PORTAL_X509 else "EdDSA"
    locale = _locale()
    return {
        "format": FORMAT,
        "vct": type_url(configuration),
        "scope": configuration.configuration_id,
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": [algorithm],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": PROOF_ALGORITHMS}},
        "credential_metadata": {
            "display": [
                {"name": str(configuration.name), "description": str(configuration.description), "locale": locale}
            ],
            "claims": [
                {"path": [claim.name], "display": [{"name": str(claim.label), "locale": locale}]}
                for claim in configuration.claims
            ],
        },
    }


def credential_issuer_metadata() -> dict[str, Any]:
    """``/.well-known/openid-credential-issuer`` (OpenID4VCI 1.0 section 12.2); the issuer is its own AS."""
    return {
        "credential_issuer": certificates.credential_issuer_url(),
        "credential_endpoint": endpoint("/openid4vci/credential"),
        "nonce_endpoint": endpoint("/openid4vci/nonce"),
        "display": [{"name": "FinLab", "locale": _locale()}],
        "credential_configurations_supported": {
            key: _configuration_entry(value) for key, value in credential_configurations().items()
        },
    }


def authorization_server_metadata() -> dict[str, Any]:
    """``/.well-known/oauth-authorization-server`` (RFC 8414): public clients, PKCE S256, both grants."""
    return {
        "issuer": certificates.credential_issuer_url(),
        "authorization_endpoint": endpoint("/openid4vci/authorize"),
        "token_endpoint": endpoint("/openid4vci/token"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", PRE_AUTHORIZED_GRANT],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
        "authorization_response_iss_parameter_supported": True,
        "scopes_supported": sorted(credential_configurations()),
    }


def type_metadata(configuration: CredentialConfiguration) -> dict[str, Any]:
    """SD-JWT VC type metadata served at the ``vct`` URL (draft-ietf-oauth-sd-jwt-vc section 6)."""
    locale = _locale()
    return {
        "vct": type_url(configuration),
        "name": str(configuration.name),
        "description": str(configuration.description),
        "display": [{"locale": locale, "name": str(configuration.name), "description": str(configuration.description)}],
        "claims": [
            {"path": [claim.name], "display": [{"locale": locale, "label": str(claim.label)}], "sd": "always"}
            for claim in configuration.claims
        ],
    }


def proof_type() -> str:
    return PROOF_TYPE
