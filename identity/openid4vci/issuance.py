"""The credential endpoint's work: check the key proof, build the SD-JWT VC, sign it, record it.

Checks in this order (each its own OpenID4VCI error): the configuration is one the access token was granted for
(``unknown_credential_configuration``); one JWT proof of type ``openid4vci-proof+jwt`` (``invalid_proof``) signed
by the key in its ``jwk`` header with ES256 or EdDSA (``invalid_proof``), ``aud`` = the issuer and ``iat`` within
the allowed skew (``invalid_proof``); its ``nonce`` a ``c_nonce`` from the nonce endpoint, unexpired and unused
(``invalid_nonce``). The holder key becomes ``cnf.jwk``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from identity.credentials import jose
from identity.credentials.encoding import b64url_encode
from identity.credentials.token_status_list import status_claim
from identity.models import IssuanceAccessToken
from identity.openid4vci import certificates
from identity.openid4vci.configurations import CredentialConfiguration, SignedBy, credential_configuration_get
from identity.openid4vci.errors import OAuthError, invalid_nonce, invalid_proof
from identity.openid4vci.grants import nonce_spend
from identity.services import issuance, keys
from identity.services.status import status_slots_allocate

PROOF_TYPE = "openid4vci-proof+jwt"
SD_JWT_TYPE = "dc+sd-jwt"
FORMAT = "dc+sd-jwt"
_RESERVED = frozenset({"iss", "iat", "nbf", "exp", "cnf", "vct", "status", "sub", "jti", "_sd", "_sd_alg", "..."})


def type_url(configuration: CredentialConfiguration) -> str:
    """The ``vct`` of a configuration: an https URL of the issuer where its type metadata is served."""
    return f"{certificates.credential_issuer_url()}/credentials/types/{configuration.type_name}"


def key_proof_verify(*, proof_jwt: object, now: datetime) -> jose.PublicKey:
    """The holder's public key from a valid key proof (see the module docstring for the checks)."""
    if not isinstance(proof_jwt, str):
        raise invalid_proof("proofs.jwt must hold one key proof JWT")
    try:
        header, payload, signing_input, signature = jose.decode_compact(proof_jwt)
    except jose.JoseError as error:
        raise invalid_proof(f"The key proof is not a JWT: {error}") from error
    if header.get("typ") != PROOF_TYPE:
        raise invalid_proof(f"The key proof must have typ {PROOF_TYPE}.")
    if "jwk" not in header or "kid" in header or "x5c" in header:
        raise invalid_proof("The key proof must name its key by the jwk header parameter.")
    try:
        holder_key = jose.public_key_from_jwk(header["jwk"])
        jose.signature_verify(
            algorithm=header.get("alg"), public_key=holder_key, signing_input=signing_input, signature=signature
        )
    except jose.JoseError as error:
        raise invalid_proof(f"The key proof is not signed by the key in its header: {error}") from error
    if payload.get("aud") != certificates.credential_issuer_url():
        raise invalid_proof("The key proof's aud must be the credential issuer identifier.")
    issued_at = payload.get("iat")
    skew = timedelta(seconds=settings.OPENID4VCI_PROOF_MAX_AGE)
    if not isinstance(issued_at, int) or abs(datetime.fromtimestamp(issued_at, UTC) - now) > skew:
        raise invalid_proof("The key proof's iat is missing or not fresh.")
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce_spend(nonce=nonce):
        raise invalid_nonce("The key proof's nonce is missing, unknown, expired or already used; ask for a new one.")
    return holder_key


def _disclosure(name: str, value: Any) -> str:
    salt = b64url_encode(secrets.token_bytes(16))
    return b64url_encode(json.dumps([salt, name, value], ensure_ascii=False).encode("utf-8"))


def _digest(disclosure: str) -> str:
    return b64url_encode(hashlib.sha256(disclosure.encode("ascii")).digest())


def _signing(configuration: CredentialConfiguration) -> tuple[str, str, jose.PrivateKey, dict[str, Any]]:
    """(iss, status-list owner DID, private key, JOSE header members) for the configuration's signer."""
    if configuration.signed_by == SignedBy.PORTAL_X509:
        signer = certificates.issuer_x509_signer()
        return certificates.credential_issuer_url(), keys.portal_did(), signer.private_key, {"x5c": signer.x5c}
    from identity.services.wallet import wallet_demo_issuers_ensure

    kyc_issuer, bureau_issuer = wallet_demo_issuers_ensure()
    issuer = kyc_issuer if configuration.signed_by == SignedBy.DEMO_KYC else bureau_issuer
    hosted = keys.signer_for(controller=keys.issuer_controller(issuer.pk), did=issuer.did)
    return issuer.did, issuer.did, hosted.private_key, {"kid": hosted.jwk_method}


@transaction.atomic
def credential_issue(
    *, token: IssuanceAccessToken, configuration_id: object, holder_key: jose.PublicKey, now: datetime
) -> str:
    """Sign the SD-JWT VC (issuance form, every disclosure) for the token's customer; the record and its
    anchor leaf are kept, the credential is returned and never stored."""
    configuration = credential_configuration_get(configuration_id)
    if configuration is None or configuration_id not in token.credential_configuration_ids:
        raise OAuthError("unknown_credential_configuration", "This credential configuration is not offered here.")
    claims = dict(configuration.claims_for(token.user))
    if set(claims) & _RESERVED:
        raise ValueError("a claims builder returned a registered JWT claim name")
    issuer, status_owner, private_key, header_members = _signing(configuration)
    moment = keys.whole_seconds(now)
    valid_until = moment + configuration.validity
    credential_id = f"urn:uuid:{uuid.uuid4()}"
    slots = status_slots_allocate(issuer_did=status_owner)
    disclosures = [_disclosure(name, value) for name, value in claims.items()]
    payload: dict[str, Any] = {
        "iss": issuer,
        "iat": int(moment.timestamp()),
        "nbf": int(moment.timestamp()),
        "exp": int(valid_until.timestamp()),
        "vct": type_url(configuration),
        "jti": credential_id,
        "cnf": {"jwk": jose.public_jwk(holder_key)},
        "credentialStatus": slots.entries(),
        "status": status_claim(slots.status_reference()),
        "_sd": sorted(_digest(disclosure) for disclosure in disclosures),
        "_sd_alg": "sha-256",
    }
    header = {"alg": jose.algorithm_for(private_key), "typ": SD_JWT_TYPE, **header_members}
    issuer_jwt = jose.sign_compact(header=header, payload=payload, private_key=private_key)
    secured = "".join(f"{part}~" for part in (issuer_jwt, *disclosures))
    issuance.credential_record_add(
        secured=secured,
        credential_id=credential_id,
        credential_type=configuration.credential_type,
        issuer_did=status_owner,
        securing_format="sd-jwt",
        valid_from=moment,
        valid_until=valid_until,
        slots=slots,
        now=moment,
    )
    return secured


def credential_request_parse(body: Mapping[str, Any]) -> tuple[object, object]:
    """(credential_configuration_id, the one proof JWT) of an OpenID4VCI 1.0 credential request."""
    if "credential_identifier" in body:
        raise OAuthError("invalid_credential_request", "credential_identifier is not used by this issuer.")
    proofs = body.get("proofs")
    if "proof" in body or not isinstance(proofs, Mapping) or set(proofs) != {"jwt"}:
        raise invalid_proof("Send one key proof as proofs.jwt (a list with one JWT).")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or len(jwts) != 1:
        raise invalid_proof("proofs.jwt must be a list with exactly one key proof.")
    return body.get("credential_configuration_id"), jwts[0]


def now_utc() -> datetime:
    return timezone.now()
