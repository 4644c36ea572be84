"""SD-JWT VC (RFC 9901 selective disclosure, typ ``dc+sd-jwt``) with Key Binding, on Ed25519.

The issuer signs digests of salted disclosures instead of the claims themselves; the holder chooses which
disclosures to send and signs a KB-JWT over the verifier's nonce (challenge), audience (domain) and ``sd_hash`` of
exactly what is presented. A verifier therefore learns only the claims it was sent. Selectively disclosable claims
are top-level claims; ``credentialStatus`` (BitstringStatusListEntry objects) is always disclosed.
"""

import contextlib
import functools
import hashlib
import json
import secrets
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509 import Certificate

from identity.credentials import jose, x509
from identity.credentials.core import (
    CredentialError,
    DidDocumentResolver,
    Reason,
    SecuredCredential,
    status_entries_from,
)
from identity.credentials.dids import did_key_from_public_key, resolve_method_public_key
from identity.credentials.encoding import EncodingError, b64url_decode, b64url_encode, json_decode
from identity.credentials.jws import decode_jws, is_valid_ed25519_signature, sign_jws
from identity.credentials.keys import public_key_from_jwk, public_key_to_jwk

FORMAT = "sd-jwt-vc"
ISSUER_JWT_TYPE = "dc+sd-jwt"
KEY_BINDING_JWT_TYPE = "kb+jwt"
_RESERVED_NAMES = frozenset({"_sd", "_sd_alg", "...", "iss", "iat", "nbf", "exp", "cnf", "vct", "status", "sub"})


@dataclass(frozen=True)
class ParsedSdJwt:
    """An SD-JWT split at ``~``: issuer-signed JWT, disclosures, and the KB-JWT (None in the issuance form)."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    key_binding_jwt: str | None

    @property
    def presented_part(self) -> str:
        """The text ``sd_hash`` covers: the issuer JWT and disclosures, each followed by ``~``."""
        return "~".join((self.issuer_jwt, *self.disclosures)) + "~"


@dataclass(frozen=True)
class KeyBinding:
    """The verified KB-JWT claims that tie a presentation to one request."""

    nonce: str
    audience: str
    issued_at: datetime


def issue_sd_jwt(
    *,
    private_key: Ed25519PrivateKey,
    verification_method_id: str,
    vct: str,
    always_disclosed: Mapping[str, Any],
    selectively_disclosed: Mapping[str, Any],
    holder_public_key: bytes,
    valid_from: datetime,
    valid_until: datetime,
) -> str:
    """Issue an SD-JWT VC bound to ``holder_public_key``; returns the issuance form with every disclosure."""
    names = set(always_disclosed) | set(selectively_disclosed)
    if set(always_disclosed) & set(selectively_disclosed) or names & _RESERVED_NAMES:
        raise ValueError("claim names must be unique and not JWT/SD-JWT registered names")
    disclosures = [_disclosure(name, value) for name, value in selectively_disclosed.items()]
    payload: dict[str, Any] = {
        "iss": verification_method_id.split("#", 1)[0],
        "iat": int(valid_from.timestamp()),
        "nbf": int(valid_from.timestamp()),
        "exp": int(valid_until.timestamp()),
        "vct": vct,
        "cnf": {"jwk": public_key_to_jwk(holder_public_key)},
        **always_disclosed,
        "_sd": sorted(_digest(disclosure) for disclosure in disclosures),
        "_sd_alg": "sha-256",
    }
    header = {"alg": "EdDSA", "typ": ISSUER_JWT_TYPE, "kid": verification_method_id}
    issuer_jwt = sign_jws(header=header, payload=payload, private_key=private_key)
    return ParsedSdJwt(issuer_jwt, tuple(disclosures), None).presented_part


def present_sd_jwt(
    *,
    sd_jwt: str,
    disclose: Collection[str],
    holder_private_key: Ed25519PrivateKey,
    challenge: str,
    domain: str,
    issued_at: datetime,
) -> str:
    """The holder's presentation: only the disclosures named in ``disclose``, then a KB-JWT over the request."""
    parsed = parse_sd_jwt(sd_jwt)
    kept = tuple(disclosure for disclosure in parsed.disclosures if _decode_disclosure(disclosure)[1] in disclose)
    missing = set(disclose) - {_decode_disclosure(disclosure)[1] for disclosure in kept}
    if missing:
        raise ValueError(f"the credential has no disclosable claims named {sorted(missing)}")
    presented = ParsedSdJwt(parsed.issuer_jwt, kept, None).presented_part
    key_binding = {
        "iat": int(issued_at.timestamp()),
        "aud": domain,
        "nonce": challenge,
        "sd_hash": b64url_encode(hashlib.sha256(presented.encode("ascii")).digest()),
    }
    header = {"alg": "EdDSA", "typ": KEY_BINDING_JWT_TYPE}
    return presented + sign_jws(header=header, payload=key_binding, private_key=holder_private_key)


def parse_sd_jwt(text: str) -> ParsedSdJwt:
    """Split an SD-JWT or SD-JWT+KB; anything without the ``~`` structure is ``malformed``."""
    parts = text.split("~")
    if len(parts) < 2 or not parts[0]:
        raise CredentialError(Reason.MALFORMED, "an SD-JWT has the form <jwt>~<disclosure>~...~[<kb-jwt>]")
    disclosures = tuple(parts[1:-1])
    if any(not disclosure for disclosure in disclosures):
        raise CredentialError(Reason.MALFORMED, "empty disclosure")
    return ParsedSdJwt(parts[0], disclosures, parts[-1] or None)


def verify_sd_jwt_issuer(*, parsed: ParsedSdJwt, resolve_did_document: DidDocumentResolver) -> SecuredCredential:
    """Check the issuer's signature and every disclosure; ``claims`` holds only what was disclosed."""
    decoded = decode_jws(parsed.issuer_jwt)
    payload, method_id = decoded.payload, decoded.header.get("kid")
    issuer = payload.get("iss")
    if decoded.header.get("typ") != ISSUER_JWT_TYPE or not isinstance(issuer, str) or not isinstance(method_id, str):
        raise CredentialError(Reason.MALFORMED, "SD-JWT VC needs typ dc+sd-jwt, iss and kid")
    if method_id.split("#", 1)[0] != issuer:
        raise CredentialError(Reason.BAD_SIGNATURE, "the signing key does not belong to the issuer")
    public_key = resolve_method_public_key(method_id=method_id, resolve_did_document=resolve_did_document)
    if not is_valid_ed25519_signature(
        public_key=public_key, signature=decoded.signature, message=decoded.signing_input
    ):
        raise CredentialError(Reason.BAD_SIGNATURE, "SD-JWT issuer signature does not verify")
    claims = _apply_disclosures(payload, parsed.disclosures)
    holder_public_key = _holder_public_key(claims)
    return SecuredCredential(
        format=FORMAT,
        issuer=issuer,
        subject=did_key_from_public_key(holder_public_key),
        types=(str(claims.get("vct")),),
        valid_from=_numeric_date(claims, "nbf"),
        valid_until=_numeric_date(claims, "exp"),
        claims=claims,
        anchor_bytes=parsed.issuer_jwt.encode("ascii"),
        status_entries=status_entries_from(claims.get("credentialStatus")),
    )


def verify_key_binding(*, parsed: ParsedSdJwt, holder_public_key: bytes) -> KeyBinding:
    """Check the KB-JWT: signed by the key in ``cnf`` over exactly the presented disclosures (else wrong_holder)."""
    if parsed.key_binding_jwt is None:
        raise CredentialError(Reason.WRONG_HOLDER, "presentation has no key binding JWT")
    decoded = decode_jws(parsed.key_binding_jwt)
    if decoded.header.get("typ") != KEY_BINDING_JWT_TYPE:
        raise CredentialError(Reason.MALFORMED, "key binding JWT must have typ kb+jwt")
    message = decoded.signing_input
    if not is_valid_ed25519_signature(public_key=holder_public_key, signature=decoded.signature, message=message):
        raise CredentialError(Reason.WRONG_HOLDER, "key binding JWT is not signed by the credential's holder key")
    expected_hash = b64url_encode(hashlib.sha256(parsed.presented_part.encode("ascii")).digest())
    if decoded.payload.get("sd_hash") != expected_hash:
        raise CredentialError(Reason.WRONG_HOLDER, "key binding JWT covers different disclosures")
    nonce, audience, issued_at = (decoded.payload.get(name) for name in ("nonce", "aud", "iat"))
    if not isinstance(nonce, str) or not isinstance(audience, str) or not isinstance(issued_at, int):
        raise CredentialError(Reason.MALFORMED, "key binding JWT needs nonce, aud and iat")
    return KeyBinding(nonce=nonce, audience=audience, issued_at=datetime.fromtimestamp(issued_at, UTC))


def holder_public_key_of(secured: SecuredCredential) -> bytes:
    """The holder key an SD-JWT VC is bound to (its ``cnf.jwk``)."""
    return _holder_public_key(secured.claims)


def _apply_disclosures(payload: Mapping[str, Any], disclosures: tuple[str, ...]) -> dict[str, Any]:
    """Replace the ``_sd`` digests by the disclosed claims; unknown, repeated or clashing disclosures are refused."""
    return _disclosed_claims(payload, disclosures)[0]


def _disclosed_claims(
    payload: Mapping[str, Any], disclosures: tuple[str, ...]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """:func:`_apply_disclosures`, and the disclosed claim names in the order sent (each disclosure decoded once)."""
    if payload.get("_sd_alg", "sha-256") != "sha-256":
        raise CredentialError(Reason.MALFORMED, "only sha-256 disclosure digests are supported")
    digests = payload.get("_sd", [])
    if not isinstance(digests, list) or len(set(digests)) != len(digests):
        raise CredentialError(Reason.MALFORMED, "_sd must be a list of unique digests")
    claims = {key: value for key, value in payload.items() if key not in {"_sd", "_sd_alg"}}
    seen: set[str] = set()
    names = []
    for disclosure in disclosures:
        digest = _digest(disclosure)
        if digest not in digests or digest in seen:
            raise CredentialError(Reason.BAD_SIGNATURE, "disclosure is not covered by the issuer's signature")
        seen.add(digest)
        _salt, name, value = _decode_disclosure(disclosure)
        if name in claims or name in _RESERVED_NAMES:
            raise CredentialError(Reason.MALFORMED, f"disclosure overwrites claim {name!r}")
        claims[name] = value
        names.append(name)
    return claims, tuple(names)


def _disclosure(name: str, value: Any) -> str:
    """``base64url(JSON([salt, name, value]))`` with a 128-bit random salt."""
    salt = b64url_encode(secrets.token_bytes(16))
    return b64url_encode(json.dumps([salt, name, value], ensure_ascii=False).encode("utf-8"))


def _decode_disclosure(disclosure: str) -> tuple[str, str, Any]:
    try:
        decoded = json_decode(b64url_decode(disclosure))
    except (EncodingError, ValueError) as error:
        raise CredentialError(Reason.MALFORMED, f"undecodable disclosure: {error}") from error
    if not isinstance(decoded, list) or len(decoded) != 3 or not all(isinstance(item, str) for item in decoded[:2]):
        raise CredentialError(Reason.MALFORMED, "a disclosure is [salt, claim name, value]")
    return decoded[0], decoded[1], decoded[2]


def _digest(disclosure: str) -> str:
    return b64url_encode(hashlib.sha256(disclosure.encode("ascii")).digest())


def _holder_public_key(claims: Mapping[str, Any]) -> bytes:
    confirmation = claims.get("cnf")
    try:
        return public_key_from_jwk(confirmation["jwk"])  # type: ignore[index]
    except (KeyError, TypeError, EncodingError) as error:
        raise CredentialError(Reason.MALFORMED, "SD-JWT VC has no usable cnf.jwk holder key") from error


def _numeric_date(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, int):
        raise CredentialError(Reason.MALFORMED, f"{name} must be a NumericDate integer")
    return datetime.fromtimestamp(value, UTC)


# --- SD-JWT VC as issued over OpenID4VCI and presented over OpenID4VP: ES256 (x5c) or EdDSA (DID kid) issuers,
# --- P-256 or Ed25519 holder keys. The checks below raise the finer reasons OpenID4VP reports to both sides.

X509AnchorsForVct = Callable[[str], Sequence[Certificate]]
"""(vct) -> the X.509 trust anchors an ``x5c``-signed credential of that type must chain to (empty: none)."""


@dataclass(frozen=True)
class CheckedIssuerJwt:
    """What the issuer step of an SD-JWT VC presentation found, handed on so no later step parses it again: the
    credential (disclosed claims only), the holder's ``cnf`` key and the disclosed claim names in the order sent."""

    credential: SecuredCredential
    holder_public_key: jose.PublicKey
    disclosed: tuple[str, ...]


def verify_sd_jwt_vc_issuer(
    *,
    parsed: ParsedSdJwt,
    resolve_did_document: DidDocumentResolver,
    x509_anchors_for_vct: X509AnchorsForVct,
    now: datetime,
) -> SecuredCredential:
    """Check the issuer-signed JWT of an SD-JWT VC and its disclosures (see :func:`sd_jwt_vc_issuer_check`)."""
    return sd_jwt_vc_issuer_check(
        parsed=parsed, resolve_did_document=resolve_did_document, x509_anchors_for_vct=x509_anchors_for_vct, now=now
    ).credential


def sd_jwt_vc_issuer_check(
    *,
    parsed: ParsedSdJwt,
    resolve_did_document: DidDocumentResolver,
    x509_anchors_for_vct: X509AnchorsForVct,
    now: datetime,
) -> CheckedIssuerJwt:
    """Check the issuer-signed JWT of an SD-JWT VC and its disclosures.

    Signed ES256 with an ``x5c`` chain: the chain must lead to an anchor given for the credential's ``vct`` (else
    ``untrusted_issuer``) and the leaf must name ``iss`` (SAN URI equal to it, or SAN DNS name equal to its host).
    Signed EdDSA with a DID URL ``kid``: the key is the DID's ``assertionMethod`` and the DID must be ``iss``; whether
    that DID is trusted is the caller's trust registry's answer. A disclosure whose digest is not in ``_sd`` (tampered
    or foreign) is ``disclosure_invalid``."""
    try:
        header, payload, signing_input, signature = jose.decode_compact(parsed.issuer_jwt)
    except jose.JoseError as error:
        raise CredentialError(Reason.MALFORMED, str(error)) from error
    issuer, vct = payload.get("iss"), payload.get("vct")
    if header.get("typ") != ISSUER_JWT_TYPE or not isinstance(issuer, str) or not isinstance(vct, str):
        raise CredentialError(Reason.MALFORMED, "SD-JWT VC needs typ dc+sd-jwt, iss and vct")
    algorithm = header.get("alg")
    if "x5c" in header:
        public_key = _x5c_issuer_key(header["x5c"], issuer=issuer, anchors=x509_anchors_for_vct(vct), now=now)
    elif isinstance(header.get("kid"), str) and algorithm == "EdDSA":
        method_id = header["kid"]
        if method_id.split("#", 1)[0] != issuer:
            raise CredentialError(Reason.BAD_SIGNATURE, "the signing key does not belong to the issuer")
        raw = resolve_method_public_key(method_id=method_id, resolve_did_document=resolve_did_document)
        public_key = _ed25519_public_key(raw)
    else:
        raise CredentialError(Reason.MALFORMED, "the issuer key must be named by x5c or by a DID URL kid (EdDSA)")
    try:
        jose.signature_verify(
            algorithm=algorithm, public_key=public_key, signing_input=signing_input, signature=signature
        )
    except jose.JoseError as error:
        raise CredentialError(Reason.BAD_SIGNATURE, f"SD-JWT issuer signature: {error}") from error
    try:
        claims, disclosed = _disclosed_claims(payload, parsed.disclosures)
    except CredentialError as error:
        if error.reason is Reason.BAD_SIGNATURE:
            raise CredentialError(Reason.DISCLOSURE_INVALID, error.detail) from error
        raise
    holder_jwk = claims.get("cnf", {}).get("jwk") if isinstance(claims.get("cnf"), dict) else None
    try:
        holder_public_key, thumbprint = jose.public_key_and_thumbprint_from_jwk(holder_jwk)
    except jose.JoseError as error:
        raise CredentialError(Reason.MALFORMED, f"SD-JWT VC has no usable cnf.jwk: {error}") from error
    credential = SecuredCredential(
        format=FORMAT,
        issuer=issuer,
        subject=thumbprint,
        types=(vct,),
        valid_from=_numeric_date(claims, "nbf") or _numeric_date(claims, "iat"),
        valid_until=_numeric_date(claims, "exp"),
        claims=claims,
        anchor_bytes=parsed.issuer_jwt.encode("ascii"),
        status_entries=(),
    )
    return CheckedIssuerJwt(credential=credential, holder_public_key=holder_public_key, disclosed=disclosed)


@functools.lru_cache(maxsize=1024)
def _ed25519_public_key(raw: bytes) -> Ed25519PublicKey:
    """The key object of a resolved DID key, remembered by its exact 32 bytes (the resolution itself, and so a
    removed or rotated key, is looked up on every verification)."""
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class _CheckedChain:
    """A chain that was found to lead to ``anchor``: the leaf's key and names, and when every certificate of the path
    is valid."""

    public_key: ec.EllipticCurvePublicKey
    uris: tuple[str, ...]
    dns_names: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    anchor: Certificate


_CHECKED_CHAINS: OrderedDict[tuple[str, ...], _CheckedChain] = OrderedDict()
_CHECKED_CHAINS_LIMIT = 256


def _checked_chain(value: object, anchors: Sequence[Certificate]) -> _CheckedChain:
    """The chain's signatures and CA constraints, checked once per exact ``x5c`` value and remembered with the anchor
    it led to (an issuer signs many credentials with one chain). The remembered answer is used only while that very
    anchor is among ``anchors`` (the trust registry's current answer): a suspended or replaced anchor makes the chain
    be checked again against the anchors given now. Validity dates are compared by the caller on every use."""
    key = tuple(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else None
    checked = _CHECKED_CHAINS.get(key) if key is not None else None
    if checked is not None and any(anchor is checked.anchor or anchor == checked.anchor for anchor in anchors):
        with contextlib.suppress(KeyError):
            _CHECKED_CHAINS.move_to_end(key)  # type: ignore[arg-type]
        return checked
    path = x509.certificate_path_verify(chain=x509.x5c_decode(value), trust_anchors=anchors)
    try:
        names = path.leaf.extensions.get_extension_for_class(crypto_x509.SubjectAlternativeName).value
    except crypto_x509.ExtensionNotFound:
        names = crypto_x509.SubjectAlternativeName([])
    public_key = path.leaf.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise x509.CertificateChainError("the x5c leaf must hold a P-256 key")
    checked = _CheckedChain(
        public_key=public_key,
        uris=tuple(names.get_values_for_type(crypto_x509.UniformResourceIdentifier)),
        dns_names=tuple(names.get_values_for_type(crypto_x509.DNSName)),
        valid_from=path.valid_from,
        valid_until=path.valid_until,
        anchor=path.anchor,
    )
    if key is not None:
        _CHECKED_CHAINS[key] = checked
        while len(_CHECKED_CHAINS) > _CHECKED_CHAINS_LIMIT:
            with contextlib.suppress(KeyError, StopIteration):
                _CHECKED_CHAINS.popitem(last=False)
    return checked


def _x5c_issuer_key(value: object, *, issuer: str, anchors: Sequence[Certificate], now: datetime) -> jose.PublicKey:
    """The issuer's key from an ``x5c`` chain that leads to one of ``anchors``, valid ``now`` and naming ``issuer``
    (SAN URI equal to it, or SAN DNS name equal to its host); anything else is ``untrusted_issuer``."""
    try:
        checked = _checked_chain(value, anchors)
    except x509.CertificateChainError as error:
        raise CredentialError(Reason.UNTRUSTED_ISSUER, f"x5c: {error}") from error
    if not checked.valid_from <= now <= checked.valid_until:
        raise CredentialError(Reason.UNTRUSTED_ISSUER, f"x5c: a certificate of the chain is not valid at {now}")
    if issuer not in checked.uris and urlsplit(issuer).hostname not in checked.dns_names:
        raise CredentialError(Reason.UNTRUSTED_ISSUER, "the x5c leaf certificate does not name the issuer")
    return checked.public_key


def verify_key_binding_jwt(*, parsed: ParsedSdJwt, holder_jwk: Mapping[str, Any]) -> KeyBinding:
    """Check the KB-JWT of an SD-JWT VC presentation against the ``cnf.jwk`` key (see :func:`key_binding_check`)."""
    try:
        holder_public_key = jose.public_key_from_jwk(holder_jwk)
    except jose.JoseError as error:
        raise CredentialError(Reason.KEY_BINDING_INVALID, str(error)) from error
    return key_binding_check(parsed=parsed, holder_public_key=holder_public_key)


def key_binding_check(*, parsed: ParsedSdJwt, holder_public_key: jose.PublicKey) -> KeyBinding:
    """Check the KB-JWT of an SD-JWT VC presentation: present (else ``key_binding_missing``), typ ``kb+jwt``,
    signed ES256 or EdDSA by the ``cnf.jwk`` key and ``sd_hash`` over exactly the presented issuer JWT and
    disclosures (else ``key_binding_invalid``). The caller compares nonce, audience and age to its request."""
    if parsed.key_binding_jwt is None:
        raise CredentialError(Reason.KEY_BINDING_MISSING, "presentation has no key binding JWT")
    try:
        header, payload, signing_input, signature = jose.decode_compact(parsed.key_binding_jwt)
        if header.get("typ") != KEY_BINDING_JWT_TYPE:
            raise jose.JoseError("key binding JWT must have typ kb+jwt")
        jose.signature_verify(
            algorithm=header.get("alg"),
            public_key=holder_public_key,
            signing_input=signing_input,
            signature=signature,
        )
    except jose.JoseError as error:
        raise CredentialError(Reason.KEY_BINDING_INVALID, str(error)) from error
    expected_hash = b64url_encode(hashlib.sha256(parsed.presented_part.encode("ascii")).digest())
    if payload.get("sd_hash") != expected_hash:
        raise CredentialError(Reason.KEY_BINDING_INVALID, "key binding JWT covers different disclosures")
    nonce, audience, issued_at = (payload.get(name) for name in ("nonce", "aud", "iat"))
    if not isinstance(nonce, str) or not isinstance(audience, str) or not isinstance(issued_at, int):
        raise CredentialError(Reason.KEY_BINDING_INVALID, "key binding JWT needs nonce, aud and iat")
    return KeyBinding(nonce=nonce, audience=audience, issued_at=datetime.fromtimestamp(issued_at, UTC))


def disclosed_claim_names(parsed: ParsedSdJwt) -> list[str]:
    """Names of the claims the holder disclosed (in the order sent)."""
    return [_decode_disclosure(disclosure)[1] for disclosure in parsed.disclosures]
