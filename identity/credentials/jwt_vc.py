"""VC-JWT (EdDSA): a W3C credential in the ``vc`` claim of a JWT, and presentations in the ``vp`` claim.

The JWT follows the JWT encoding of the VC Data Model (the form IOTA Identity's ``JwtCredentialValidator``
validates): ``iss`` is the issuer DID, ``kid`` the DID URL of its ``JsonWebKey2020`` method, ``jti`` the credential
id, ``sub`` the subject DID, ``nbf``/``exp`` the validity period. Those members are moved out of ``vc`` into the
registered claims, and ``vc`` carries the base context ``https://www.w3.org/2018/credentials/v1`` because that JWT
encoding (and IOTA Identity 1.5) require it. Verification reverses the mapping, so the portal works with one
VC Data Model 2.0 document whichever way it was secured.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from identity.credentials.core import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    CredentialError,
    DidDocumentResolver,
    Reason,
    SecuredCredential,
    format_datetime,
    parse_datetime,
    status_entries_from,
    subject_id_of,
    types_of,
)
from identity.credentials.dids import resolve_method_public_key
from identity.credentials.jws import decode_jws, is_valid_ed25519_signature, sign_jws

FORMAT = "vc-jwt"
_MOVED_TO_CLAIMS = ("id", "issuer", "validFrom", "validUntil")


def sign_credential_jwt(
    *, credential: Mapping[str, Any], private_key: Ed25519PrivateKey, verification_method_id: str, issued_at: datetime
) -> str:
    """Secure a VC Data Model 2.0 credential as a VC-JWT; the credential needs ``id``, string ``issuer`` and
    ``validFrom``, and ``verification_method_id`` must be a key of that issuer."""
    issuer = credential.get("issuer")
    if not isinstance(issuer, str) or verification_method_id.split("#", 1)[0] != issuer:
        raise ValueError("the signing key must belong to the credential's (string) issuer")
    context = list(credential.get("@context", []))
    if not context or context[0] != VC_V2_CONTEXT:
        raise ValueError("the credential must use the VC Data Model 2.0 context first")
    claims: dict[str, Any] = {"iss": issuer, "jti": credential["id"], "iat": _seconds(issued_at)}
    claims["nbf"] = _seconds(parse_datetime(credential["validFrom"], field_name="validFrom"))
    if "validUntil" in credential:
        claims["exp"] = _seconds(parse_datetime(credential["validUntil"], field_name="validUntil"))
    subject = subject_id_of(credential)
    if subject is not None:
        claims["sub"] = subject
    vc = {key: value for key, value in credential.items() if key not in _MOVED_TO_CLAIMS}
    vc["@context"] = [VC_V1_CONTEXT, *context[1:]]
    claims["vc"] = vc
    header = {"alg": "EdDSA", "typ": "JWT", "kid": verification_method_id}
    return sign_jws(header=header, payload=claims, private_key=private_key)


def verify_credential_jwt(*, token: str, resolve_did_document: DidDocumentResolver) -> SecuredCredential:
    """Check a VC-JWT's signature against its issuer's DID document and return the restored credential."""
    decoded = decode_jws(token)
    claims = decoded.payload
    issuer, method_id = claims.get("iss"), decoded.header.get("kid")
    if not isinstance(issuer, str) or not isinstance(method_id, str) or not isinstance(claims.get("vc"), dict):
        raise CredentialError(Reason.MALFORMED, "a VC-JWT needs iss, kid and a vc object")
    if method_id.split("#", 1)[0] != issuer:
        raise CredentialError(Reason.BAD_SIGNATURE, "the signing key does not belong to the issuer")
    public_key = resolve_method_public_key(method_id=method_id, resolve_did_document=resolve_did_document)
    if not is_valid_ed25519_signature(
        public_key=public_key, signature=decoded.signature, message=decoded.signing_input
    ):
        raise CredentialError(Reason.BAD_SIGNATURE, "VC-JWT signature does not verify")
    credential = credential_from_claims(claims)
    return SecuredCredential(
        format=FORMAT,
        issuer=issuer,
        subject=subject_id_of(credential),
        types=types_of(credential),
        valid_from=_datetime_claim(claims, "nbf"),
        valid_until=_datetime_claim(claims, "exp"),
        claims=credential,
        anchor_bytes=token.encode("ascii"),
        status_entries=status_entries_from(credential.get("credentialStatus")),
    )


def credential_from_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild the VC Data Model 2.0 credential from the JWT claims (the inverse of the signing mapping)."""
    vc = dict(claims["vc"])
    context = vc.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_V1_CONTEXT:
        raise CredentialError(Reason.MALFORMED, "vc must start with the VC JWT base context")
    if not isinstance(claims.get("nbf"), int) or ("exp" in claims and not isinstance(claims["exp"], int)):
        raise CredentialError(Reason.MALFORMED, "nbf and exp must be NumericDate integers")
    credential: dict[str, Any] = {"@context": [VC_V2_CONTEXT, *context[1:]]}
    if "jti" in claims:
        credential["id"] = claims["jti"]
    credential.update({key: value for key, value in vc.items() if key != "@context"})
    credential["issuer"] = claims["iss"]
    credential["validFrom"] = format_datetime(datetime.fromtimestamp(claims["nbf"], UTC))
    if "exp" in claims:
        credential["validUntil"] = format_datetime(datetime.fromtimestamp(claims["exp"], UTC))
    return credential


def sign_presentation_jwt(
    *,
    credentials: Sequence[str | Mapping[str, Any]],
    holder_private_key: Ed25519PrivateKey,
    holder_method_id: str,
    challenge: str,
    domain: str,
    issued_at: datetime,
    lifetime: timedelta = timedelta(minutes=5),
) -> str:
    """A holder's VP-JWT over VC-JWTs or Data Integrity credentials, bound to the verifier's challenge (``nonce``)
    and domain (``aud``); ``lifetime`` bounds replay of a captured presentation."""
    holder = holder_method_id.split("#", 1)[0]
    claims = {
        "iss": holder,
        "aud": domain,
        "nonce": challenge,
        "jti": f"urn:uuid:{uuid.uuid4()}",
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + lifetime).timestamp()),
        "vp": {
            "@context": [VC_V1_CONTEXT],
            "type": ["VerifiablePresentation"],
            "holder": holder,
            "verifiableCredential": list(credentials),
        },
    }
    header = {"alg": "EdDSA", "typ": "JWT", "kid": holder_method_id}
    return sign_jws(header=header, payload=claims, private_key=holder_private_key)


def _seconds(value: datetime) -> int:
    """NumericDate; credentials use whole seconds so the JWT and the document agree exactly."""
    if value.tzinfo is None:
        raise ValueError("date-times must be timezone-aware")
    if value.microsecond:
        raise ValueError("credential date-times must be whole seconds")
    return int(value.timestamp())


def _datetime_claim(claims: Mapping[str, Any], name: str) -> datetime | None:
    """A NumericDate claim as an aware datetime, or None when absent."""
    value = claims.get(name)
    return None if value is None else datetime.fromtimestamp(value, UTC)
