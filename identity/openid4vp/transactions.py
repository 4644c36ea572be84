"""OpenID4VP transactions: opening one for an app that wants claims, and receiving and checking the wallet's answer.

An app (credit checks) opens a transaction with :func:`presentation_transaction_create` and registers, once, what
happens with a verified answer or a refusal (:func:`presentation_handler_register`). The response endpoint calls
:func:`presentation_response_receive`, which checks in this order, each failure a named reason:

1. the transaction is still waiting (``response_replayed`` once answered, ``request_expired`` after its expiry)
2. the answer is readable: decrypted with the transaction's key for ``direct_post.jwt`` (``response_not_encrypted``,
   ``response_undecryptable``), ``state`` is the transaction's (``response_for_another_request`` when it is another
   transaction's, else ``wrong_state``); a wallet's error answer (``wallet_declined``, ``wallet_error``)
3. the presentation was not accepted before (``response_replayed``)
4. the ``vp_token`` fits the DCQL query (``dcql_not_satisfied``, ``unsupported_format``)
5. the SD-JWT VC presentation verifies (identity.credentials.verify order; the key-binding nonce belonging to another
   transaction is ``response_for_another_request``, another nonce ``wrong_nonce``, another audience
   ``wrong_audience``)
6. it discloses exactly the claims asked for (``dcql_not_satisfied``, ``extra_disclosure``)

A refusal ends the transaction; the handler is told the reason and both sides see it. The verified claims go to the
handler in memory; the transaction keeps the hashes of the response and the presentation only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.db import transaction
from django.utils import timezone

from core.encryption import field_encrypt
from core.sql import CompiledQuery, row_with
from identity.credentials import jose, x509
from identity.credentials.core import CredentialError, Reason
from identity.credentials.encoding import EncodingError, b64url_decode, json_decode
from identity.credentials.verify import SdJwtVcPresentation
from identity.models import PresentationTransaction
from identity.openid4vp import dcql, jwe, verifier
from identity.services.verification import sd_jwt_vc_presentation_verify

logger = logging.getLogger(__name__)

Status = PresentationTransaction.Status
ResponseMode = PresentationTransaction.ResponseMode

# Reason codes of a refusal, shown (in words) to the verifier's user and the wallet's user.
RESPONSE_REPLAYED = "response_replayed"
REQUEST_EXPIRED = "request_expired"
RESPONSE_NOT_ENCRYPTED = "response_not_encrypted"
RESPONSE_UNDECRYPTABLE = "response_undecryptable"
RESPONSE_FOR_ANOTHER_REQUEST = "response_for_another_request"
WRONG_STATE = "wrong_state"
WRONG_NONCE = "wrong_nonce"
WRONG_AUDIENCE = "wrong_audience"
KEY_BINDING_STALE = "key_binding_stale"
WALLET_DECLINED = "wallet_declined"
WALLET_ERROR = "wallet_error"
DCQL_NOT_SATISFIED = "dcql_not_satisfied"
EXTRA_DISCLOSURE = "extra_disclosure"
UNSUPPORTED_FORMAT = "unsupported_format"
ANCHOR_UNVERIFIABLE = "anchor_unverifiable"

REFUSAL_REASONS = frozenset(
    {
        RESPONSE_REPLAYED,
        REQUEST_EXPIRED,
        RESPONSE_NOT_ENCRYPTED,
        RESPONSE_UNDECRYPTABLE,
        RESPONSE_FOR_ANOTHER_REQUEST,
        WRONG_STATE,
        WRONG_NONCE,
        WRONG_AUDIENCE,
        KEY_BINDING_STALE,
        WALLET_DECLINED,
        WALLET_ERROR,
        DCQL_NOT_SATISFIED,
        EXTRA_DISCLOSURE,
        UNSUPPORTED_FORMAT,
        *(str(reason) for reason in Reason if reason not in {Reason.WRONG_CHALLENGE, Reason.WRONG_DOMAIN}),
    }
)
"""Every reason code a transaction can end with (``anchor_unverifiable`` never ends one: it is retried)."""


class VerifierError(Exception):
    """An answer the response endpoint refuses: OAuth ``error`` and ``error_description`` for the wallet, the
    named ``reason``, the HTTP status."""

    def __init__(self, reason: str, description: str, *, error: str = "invalid_request", status: int = 400) -> None:
        super().__init__(f"{reason}: {description}")
        self.reason = reason
        self.description = description
        self.error = error
        self.status = status


@dataclass(frozen=True)
class VerifiedAnswer:
    """A verified answer handed to the app that asked: the presentations by credential query id (their claims are
    only what was disclosed, and live only in memory) and the SHA-256 of the ``vp_token``."""

    transaction: PresentationTransaction
    presentations: dict[str, SdJwtVcPresentation]
    presentation_hash: str
    now: datetime


@dataclass(frozen=True)
class PresentationHandler:
    """What an app does with its transactions' outcomes, inside the response's database transaction.

    ``verified`` returns the URL to send the customer's browser to after a same-device answer (or None).
    ``refused`` is told the reason code."""

    verified: Callable[[VerifiedAnswer], str | None]
    refused: Callable[[PresentationTransaction, str], None]


_HANDLERS: dict[str, PresentationHandler] = {}


def presentation_handler_register(purpose: str, handler: PresentationHandler) -> None:
    """Register (or replace, on a second ready()) the handler of ``purpose``; call from AppConfig.ready()."""
    _HANDLERS[purpose] = handler


def presentation_transaction_create(
    *,
    purpose: str,
    query: Mapping[str, Any],
    expires_at: datetime,
    response_mode: str = ResponseMode.DIRECT_POST_JWT,
    now: datetime | None = None,
) -> PresentationTransaction:
    """Open a transaction for ``purpose`` asking ``query`` (a DCQL query, see :func:`dcql.dcql_query`): a fresh
    256-bit nonce and state and an ephemeral P-256 key for the encrypted answer (private half encrypted at rest)."""
    if response_mode not in ResponseMode.values:
        raise ValueError(f"unknown response mode {response_mode!r}")
    dcql.credential_queries(query)  # the shape the response check reads
    private_key = x509.generate_p256_key()
    public_id = uuid.uuid4()
    jwk = jose.public_jwk(private_key.public_key())
    presentation = PresentationTransaction(
        public_id=public_id,
        purpose=purpose,
        client_id=verifier.client_id(),
        nonce=secrets.token_urlsafe(32),
        state=secrets.token_urlsafe(32),
        response_mode=response_mode,
        dcql_query=dict(query),
        encryption_jwk=jwk | {"kid": jose.jwk_thumbprint(jwk), "use": "enc", "alg": jwe.ALGORITHM},
        created_at=now or timezone.now(),
        expires_at=expires_at,
    )
    raw = private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    presentation.encrypted_private_key = field_encrypt(plaintext=raw, context=presentation.encryption_context())
    presentation.save()
    return presentation


def request_object_for(*, public_id: uuid.UUID, now: datetime | None = None) -> str | None:
    """The signed request object of a waiting transaction (None when there is none or it has ended)."""
    now = now or timezone.now()
    presentation = PresentationTransaction.objects.filter(public_id=public_id, status=Status.PENDING).first()
    if presentation is None or presentation.expires_at <= now:
        return None
    if presentation.request_fetched_at is None:
        PresentationTransaction.objects.filter(pk=presentation.pk).update(request_fetched_at=now)
    return verifier.request_object(presentation, now=now)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ResponseOutcome:
    """A verified answer's reply to the wallet: where to send the customer's browser (same-device), if anywhere."""

    redirect_uri: str | None


# Compiled once per process: a wallet's answer is the hot path of a dealer's credit check. The replay checks read
# only the id of a transaction that holds the same answer or presentation.
_PRESENTATION_LOCKED = CompiledQuery(
    lambda *, public_id: PresentationTransaction.objects.select_for_update().filter(public_id=public_id)[:1],
    public_id=uuid.UUID,
)
_PRESENTATION_WITH_RESPONSE = row_with(PresentationTransaction, "response_hash", str)
_PRESENTATION_WITH_PRESENTATION = row_with(PresentationTransaction, "presentation_hash", str)


def presentation_response_receive(
    *, public_id: uuid.UUID, form: Mapping[str, str], now: datetime | None = None
) -> ResponseOutcome:
    """Receive a wallet's answer at the transaction's ``response_uri`` (see the module docstring for the checks);
    raises :class:`VerifierError` with the reason after recording it."""
    now = now or timezone.now()
    refusal: VerifierError | None = None
    with transaction.atomic():
        presentation = _PRESENTATION_LOCKED.first(public_id=public_id)
        if presentation is None:
            raise VerifierError("unknown_request", "No authorization request is waiting at this address.", status=404)
        try:
            return _receive(presentation=presentation, form=form, now=now)
        except VerifierError as error:
            refusal = error
            if presentation.status == Status.PENDING and error.reason != ANCHOR_UNVERIFIABLE:
                _refuse(presentation=presentation, reason=error.reason, now=now)
    logger.info("OpenID4VP answer refused: %s", refusal.reason)
    raise refusal


def _receive(*, presentation: PresentationTransaction, form: Mapping[str, str], now: datetime) -> ResponseOutcome:
    response_hash = _sha256(json.dumps(dict(form), sort_keys=True))
    if presentation.status != Status.PENDING:
        if presentation.status == Status.EXPIRED:
            raise VerifierError(REQUEST_EXPIRED, "This authorization request has expired.")
        raise VerifierError(RESPONSE_REPLAYED, "This authorization request has already been answered.")
    if presentation.expires_at <= now:
        presentation.status, presentation.completed_at = Status.EXPIRED, now
        presentation.encrypted_private_key = b""
        presentation.save(update_fields=["status", "completed_at", "encrypted_private_key"])
        raise VerifierError(REQUEST_EXPIRED, "This authorization request has expired.")
    if _PRESENTATION_WITH_RESPONSE.fetch(response_hash=response_hash):
        raise VerifierError(RESPONSE_REPLAYED, "This answer has been received before.")
    presentation.response_hash = response_hash
    payload = _response_payload(presentation=presentation, form=form)
    _state_check(presentation=presentation, state=payload.get("state"))
    if "error" in payload:
        reason = WALLET_DECLINED if payload.get("error") == "access_denied" else WALLET_ERROR
        raise VerifierError(reason, "The wallet did not answer the request.")
    vp_token = payload.get("vp_token")
    presentation_hash = _sha256(vp_token if isinstance(vp_token, str) else json.dumps(vp_token, sort_keys=True))
    if _PRESENTATION_WITH_PRESENTATION.fetch(presentation_hash=presentation_hash):
        raise VerifierError(RESPONSE_REPLAYED, "This presentation has been accepted before.")
    presentation.presentation_hash = presentation_hash
    try:
        presented = dcql.vp_token_presentations(vp_token, presentation.dcql_query)
    except dcql.DcqlMismatch as error:
        raise VerifierError(error.reason, error.detail) from error
    queries = {query.query_id: query for query in dcql.credential_queries(presentation.dcql_query)}
    verified: dict[str, SdJwtVcPresentation] = {}
    for query_id, text in presented.items():
        verified[query_id] = _verified(presentation=presentation, text=text, now=now)
        try:
            dcql.disclosure_check(
                query=queries[query_id],
                vct=verified[query_id].credential.types[0],
                disclosed=verified[query_id].disclosed,
            )
        except dcql.DcqlMismatch as error:
            raise VerifierError(error.reason, error.detail) from error
    handler = _HANDLERS[presentation.purpose]
    redirect_uri = handler.verified(VerifiedAnswer(presentation, verified, presentation_hash, now))
    presentation.status, presentation.completed_at = Status.VERIFIED, now
    presentation.encrypted_private_key = b""
    presentation.save(
        update_fields=["status", "completed_at", "encrypted_private_key", "response_hash", "presentation_hash"]
    )
    return ResponseOutcome(redirect_uri=redirect_uri)


def _response_payload(*, presentation: PresentationTransaction, form: Mapping[str, str]) -> dict[str, Any]:
    """The answer's parameters: decrypted from ``response`` (direct_post.jwt), or the form itself (direct_post).
    A wallet's error answer may come unencrypted in either mode."""
    if "error" in form and "response" not in form:
        return {name: form[name] for name in ("error", "error_description", "state") if name in form}
    if presentation.response_mode == ResponseMode.DIRECT_POST_JWT:
        token = form.get("response")
        if not token:
            raise VerifierError(RESPONSE_NOT_ENCRYPTED, "This request asks for an encrypted answer (response).")
        _foreign_key_check(presentation=presentation, token=token)
        try:
            plaintext = jwe.decrypt(token, private_key=verifier.transaction_private_key(presentation))
            payload = json_decode(plaintext)
        except (jwe.JweError, ValueError, LookupError) as error:
            raise VerifierError(
                RESPONSE_UNDECRYPTABLE, "The answer does not decrypt with this request's key."
            ) from error
        if not isinstance(payload, dict):
            raise VerifierError(RESPONSE_UNDECRYPTABLE, "The decrypted answer is not a JSON object.")
        return payload
    payload: dict[str, Any] = {name: form[name] for name in ("vp_token", "state") if name in form}
    return payload


def _foreign_key_check(*, presentation: PresentationTransaction, token: str) -> None:
    """An answer encrypted to another transaction's key (named by ``kid``) is a response for another request."""
    try:
        header = json.loads(b64url_decode(token.split(".", 1)[0]))
    except (ValueError, EncodingError):
        return
    kid = header.get("kid") if isinstance(header, dict) else None
    foreign = isinstance(kid, str) and kid != presentation.encryption_jwk.get("kid")
    if foreign and PresentationTransaction.objects.filter(encryption_jwk__kid=kid).exists():
        raise VerifierError(RESPONSE_FOR_ANOTHER_REQUEST, "The answer was made for another request.")


def _state_check(*, presentation: PresentationTransaction, state: object) -> None:
    if state == presentation.state:
        return
    if isinstance(state, str) and PresentationTransaction.objects.filter(state=state).exists():
        raise VerifierError(RESPONSE_FOR_ANOTHER_REQUEST, "The answer was made for another request.")
    raise VerifierError(WRONG_STATE, "The answer's state is not this request's.")


def _verified(*, presentation: PresentationTransaction, text: str, now: datetime) -> SdJwtVcPresentation:
    try:
        return sd_jwt_vc_presentation_verify(
            presentation=text, nonce=presentation.nonce, audience=presentation.client_id, now=now
        )
    except CredentialError as error:
        if error.reason is Reason.ANCHOR_UNVERIFIABLE:
            raise VerifierError(
                ANCHOR_UNVERIFIABLE,
                "The credential cannot be checked right now; try again in a few minutes.",
                error="temporarily_unavailable",
                status=503,
            ) from error
        raise VerifierError(_reason_for(error, presentation=presentation, text=text), error.detail) from error


def _reason_for(error: CredentialError, *, presentation: PresentationTransaction, text: str) -> str:
    if error.reason is Reason.WRONG_DOMAIN:
        return WRONG_AUDIENCE
    if error.reason is Reason.WRONG_CHALLENGE:
        nonce = _key_binding_nonce(text)
        if nonce == presentation.nonce:
            return KEY_BINDING_STALE
        if nonce is not None and PresentationTransaction.objects.filter(nonce=nonce).exists():
            return RESPONSE_FOR_ANOTHER_REQUEST
        return WRONG_NONCE
    return str(error.reason)


def _key_binding_nonce(text: str) -> str | None:
    try:
        _header, payload, _input, _signature = jose.decode_compact(text.rsplit("~", 1)[1])
    except (IndexError, jose.JoseError):
        return None
    nonce = payload.get("nonce")
    return nonce if isinstance(nonce, str) else None


def _refuse(*, presentation: PresentationTransaction, reason: str, now: datetime) -> None:
    presentation.status, presentation.refusal_reason, presentation.completed_at = Status.REFUSED, reason, now
    presentation.encrypted_private_key = b""
    if (
        presentation.presentation_hash
        and PresentationTransaction.objects.filter(presentation_hash=presentation.presentation_hash)
        .exclude(pk=presentation.pk)
        .exists()
    ):
        presentation.presentation_hash = None
    presentation.save(
        update_fields=[
            "status",
            "refusal_reason",
            "completed_at",
            "encrypted_private_key",
            "response_hash",
            "presentation_hash",
        ]
    )
    handler = _HANDLERS.get(presentation.purpose)
    if handler is not None:
        handler.refused(presentation, reason)


def presentation_transactions_expire(*, now: datetime | None = None) -> int:
    """Mark waiting transactions past their expiry as expired and wipe their keys; returns how many."""
    return PresentationTransaction.objects.filter(status=Status.PENDING, expires_at__lte=now or timezone.now()).update(
        status=Status.EXPIRED, completed_at=now or timezone.now(), encrypted_private_key=b""
    )


def presentation_transactions_delete(*, ids: list[int]) -> int:
    """Delete the given transactions (their app's retention ran out)."""
    deleted, _by_model = PresentationTransaction.objects.filter(pk__in=ids).delete()
    return deleted
