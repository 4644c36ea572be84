"""A holder written with the portal's own primitives, for tests of the verifier that need to build answers the
independent test wallet would never send (wrong nonce, tampered disclosure, missing key binding, ...)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from identity.credentials import jose
from identity.credentials.encoding import b64url_decode, b64url_encode
from identity.models import IssuanceAccessToken
from identity.openid4vci import certificates, grants, issuance
from identity.openid4vp import jwe


def credential_for(user: Any, *, configuration_id: str, holder: jose.PrivateKey, now: datetime | None = None) -> str:
    """An SD-JWT VC (issuance form) issued by the portal's OpenID4VCI credential endpoint code to ``holder``."""
    now = now or timezone.now()
    made = grants.credential_offer_create(
        user=user, configuration_ids=[configuration_id], issuer_url=certificates.credential_issuer_url()
    )
    code = made.credential_offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    granted = grants.pre_authorized_code_exchange(code=code["pre-authorized_code"], tx_code=made.tx_code)
    token = IssuanceAccessToken.objects.get(token_hash=grants.value_hash(granted.access_token))
    return issuance.credential_issue(
        token=token, configuration_id=configuration_id, holder_key=holder.public_key(), now=now
    )


def disclosure_name(disclosure: str) -> str:
    return json.loads(b64url_decode(disclosure))[1]


def present(
    credential: str,
    *,
    holder: jose.PrivateKey | None,
    disclose: Collection[str],
    nonce: str,
    audience: str,
    issued_at: datetime | None = None,
) -> str:
    """SD-JWT+KB: only the disclosures named, then a KB-JWT (none when ``holder`` is None)."""
    issuer_jwt, *disclosures = credential.split("~")
    kept = [item for item in disclosures if item and disclosure_name(item) in disclose]
    presented = "".join(f"{part}~" for part in (issuer_jwt, *kept))
    if holder is None:
        return presented
    payload = {
        "iat": int((issued_at or timezone.now()).timestamp()),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": b64url_encode(hashlib.sha256(presented.encode("ascii")).digest()),
    }
    header = {"alg": jose.algorithm_for(holder), "typ": "kb+jwt"}
    return presented + jose.sign_compact(header=header, payload=payload, private_key=holder)


def encrypted_response(payload: dict[str, Any], *, jwk: dict[str, Any], encryption: str = "A128GCM") -> str:
    """The ``response`` parameter of ``direct_post.jwt``: the answer encrypted to the verifier's key."""
    recipient = jose.public_key_from_jwk({key: jwk[key] for key in ("kty", "crv", "x", "y")})
    assert isinstance(recipient, ec.EllipticCurvePublicKey)
    return jwe.encrypt(
        json.dumps(payload).encode(), recipient=recipient, encryption=encryption, extra_header={"kid": jwk["kid"]}
    )


def issuer_payload(credential: str) -> dict[str, Any]:
    """The issuer-signed payload of an SD-JWT VC (the status references are never selectively disclosed)."""
    return jose.decode_compact(credential.split("~")[0])[1]


def status_set_in_token_status_list_only(credential: str, *, revoked: bool = False, suspended: bool = False) -> None:
    """Revoke or suspend a portal-issued credential through its IETF Token Status List alone, the way an issuer that
    keeps only that list does: the record changes and the revocation list's Status List Token is re-signed, while
    the W3C Bitstring Status Lists keep their bits (they still say valid). The verifier's cached lists are dropped.
    """
    from django.core.cache import cache

    from identity.models import CredentialRecord
    from identity.services import status
    from identity.services.status import sd_jwt_status_reason

    record = CredentialRecord.objects.get(credential_id=issuer_payload(credential)["jti"])
    changes: dict[str, Any] = {}
    if revoked:
        changes["revoked_at"] = timezone.now()
    if suspended:
        changes["is_suspended"] = True
    CredentialRecord.objects.filter(pk=record.pk).update(**changes)
    status.status_list_publish(status_list=record.revocation_list)  # the bitstring's bits are unchanged
    cache.clear()
    payload = issuer_payload(credential)
    only_bitstring = {name: value for name, value in payload.items() if name != "status"}
    only_token = {name: value for name, value in payload.items() if name != "credentialStatus"}
    assert sd_jwt_status_reason(only_bitstring, now=timezone.now()) is None
    expected = "revoked" if revoked else "suspended"
    assert sd_jwt_status_reason(only_token, now=timezone.now()) == expected
    cache.clear()
