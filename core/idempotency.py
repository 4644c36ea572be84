"""One `Idempotency-Key` rule for every request that moves money (API endpoints and the forms that book money).

The rules, the same everywhere:

- The key is required: 1 to 64 characters of `A-Z a-z 0-9 _ . : -` (a UUID fits). Missing: 422
  `idempotency_key_missing`; anything else: 422 `idempotency_key_malformed`.
- A key belongs to its caller (`idempotency_scope`: the dealer organisation, the vehicle, or else the user) and to one
  operation; the same text used by another caller or for another operation is another key.
- The first successful answer is stored with the booking, in the same transaction, behind a unique constraint
  (`core.models.IdempotencyRecord`). The same key with the same request (method, path, canonical body) gets that
  answer again, with the same status and the header `Idempotent-Replayed: true`, and books nothing.
- The same key with a different request: 422 `idempotency_key_reused`, nothing changes.
- Two requests with one key at once: the second waits for the first's transaction and then gets its answer; if the
  first holds the key longer than IDEMPOTENCY_LOCK_TIMEOUT_MS, the second gets 409 `idempotency_key_in_progress`.
- A refused request (any error) stores nothing: it changed nothing, so a retry with the same key runs again.

An action may write its answer together with its booking, in one round trip (`idempotency_answer_statement`); the
answer is then the same, stored in the same transaction, one statement fewer.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from core.errors import ConflictError, ValidationFailed
from core.models import IdempotencyRecord
from core.sql import Statement, prepared_cursor

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 64
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_KEY_RE = re.compile(KEY_PATTERN)
_LOCK_NOT_AVAILABLE = "55P03"

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    pattern=KEY_PATTERN,
    description="1 to 64 characters of A-Z, a-z, 0-9, `_ . : -`, unique per operation (a UUID will do). A retry with "
    "the same key and the same request gets the first answer again and books nothing; the same key with another "
    "request is refused with `idempotency_key_reused`.",
)


@dataclass(slots=True)
class _Claim:
    """The key held by the `idempotent_run` in progress, and the answer its action wrote itself, if it did."""

    scope: str
    operation: str
    key: str
    written_answer: tuple[int, Any] | None = None


_CURRENT_CLAIM: ContextVar[_Claim | None] = ContextVar("idempotency_claim", default=None)


@dataclass(frozen=True, slots=True)
class IdempotentOutcome:
    """The answer to give: the first call's status and body; `is_replay` when it was stored by an earlier call."""

    status: int
    body: Any
    is_replay: bool


def idempotency_key_parse(*, raw: str | None) -> str:
    """The key from a header or form field, or a named refusal (`idempotency_key_missing`/`_malformed`)."""
    if raw is None or raw == "":
        raise ValidationFailed(f"Send an {HEADER} header.", code="idempotency_key_missing")
    if not _KEY_RE.match(raw):
        raise ValidationFailed(
            f"The {HEADER} must be 1 to {KEY_MAX_LENGTH} characters of A-Z, a-z, 0-9, '_', '.', ':' or '-'.",
            code="idempotency_key_malformed",
        )
    return raw


def idempotency_scope(*, caller: Any) -> str:
    """Whose key it is: a vehicle (machine API), a dealer organisation (its staff share one key space), or a user."""
    vehicle = getattr(caller, "vehicle", None)
    if vehicle is not None:
        return f"vehicle:{vehicle.pk}"
    organisation_id = getattr(caller, "dealer_organisation_id", None)
    if organisation_id is not None:
        return f"dealer-organisation:{organisation_id}"
    return f"user:{caller.pk}"


def request_fingerprint(*, method: str, path: str, payload: Any) -> str:
    """SHA-256 of the method, the path and the body in canonical JSON (sorted keys): what "the same request" means."""
    body = json.dumps(payload, cls=JSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256("\x1f".join([method.upper(), path, body]).encode()).hexdigest()


def idempotent_run(
    *, scope: str, operation: str, key: str, fingerprint: str, action: Callable[[], tuple[int, Any]]
) -> IdempotentOutcome:
    """Runs `action` once per (scope, operation, key) and returns its (status, body), or the stored first answer.

    `action` books the money and returns a 2xx status with a JSON-serialisable body; it runs inside this function's
    transaction, so the booking and the record commit together or not at all. An error raised by `action` stores
    nothing and propagates.
    """
    with transaction.atomic():
        existing = _claim(scope=scope, operation=operation, key=key, fingerprint=fingerprint)
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise ValidationFailed(
                    f"This {HEADER} was already used for a different request.", code="idempotency_key_reused"
                )
            if existing.response_status is None:  # never committed so: the holder writes the answer with the claim
                raise ConflictError(
                    f"A request with this {HEADER} is still being processed; retry shortly.",
                    code="idempotency_key_in_progress",
                )
            return IdempotentOutcome(status=existing.response_status, body=existing.response_body, is_replay=True)
        claim = _Claim(scope=scope, operation=operation, key=key)
        token = _CURRENT_CLAIM.set(claim)
        try:
            status, body = action()
        finally:
            _CURRENT_CLAIM.reset(token)
        if not 200 <= status < 300:
            raise ValueError(f"an idempotent action must answer 2xx, not {status}")
        stored = _storable(body)
        if claim.written_answer is None:
            IdempotencyRecord.objects.filter(scope=scope, operation=operation, key=key).update(
                response_status=status, response_body=stored
            )
        elif claim.written_answer != (status, stored):
            raise ValueError("the action answered otherwise than the answer it stored with its booking")
    return IdempotentOutcome(status=status, body=stored, is_replay=False)


def _storable(body: Any) -> Any:
    return json.loads(json.dumps(body, cls=JSONEncoder))


def idempotency_answer_statement(*, status: int, body: Any) -> Statement:
    """The UPDATE that stores `status` and `body` as the answer of the `idempotent_run` in progress, for an action that
    sends it with its own booking (one round trip fewer). It returns the record's id: the action must check that it
    did (a missing row means no claim, and the action must fail). `idempotent_run` then stores nothing more and checks
    that the action answers exactly this. Only inside an action of `idempotent_run`."""
    claim = _CURRENT_CLAIM.get()
    if claim is None:
        raise RuntimeError("idempotency_answer_statement is called only inside an idempotent_run action")
    stored = _storable(body)
    claim.written_answer = (status, stored)
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    sql = (
        f"UPDATE {table} SET response_status = %s, response_body = %s "  # noqa: S608 - the portal's own table name
        "WHERE scope = %s AND operation = %s AND key = %s RETURNING id"
    )
    return sql, [status, json.dumps(stored), claim.scope, claim.operation, claim.key]


def _claim(*, scope: str, operation: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Inserts the record (None: this call books) or returns the committed one of an earlier call.

    A concurrent holder of the key makes the insert wait on the unique index until it commits (the key is taken: read
    its record) or rolls back (the insert succeeds); the wait is bounded by IDEMPOTENCY_LOCK_TIMEOUT_MS, after which
    the caller's transaction is aborted and 409 `idempotency_key_in_progress` raised. Runs inside `idempotent_run`'s
    transaction, which it leaves only by that error.
    """
    timeout_ms = int(settings.IDEMPOTENCY_LOCK_TIMEOUT_MS)
    try:
        if connection.vendor == "postgresql":
            inserted = _claim_insert_postgresql(
                scope=scope, operation=operation, key=key, fingerprint=fingerprint, timeout_ms=timeout_ms
            )
        else:
            inserted = _claim_insert_portable(
                scope=scope, operation=operation, key=key, fingerprint=fingerprint, timeout_ms=timeout_ms
            )
    except OperationalError as error:
        cause = error.__cause__
        if getattr(cause, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise ConflictError(
                f"A request with this {HEADER} is still being processed; retry shortly.",
                code="idempotency_key_in_progress",
            ) from error
        raise
    if inserted:
        return None
    return IdempotencyRecord.objects.get(scope=scope, operation=operation, key=key)


def _claim_insert_postgresql(*, scope: str, operation: str, key: str, fingerprint: str, timeout_ms: int) -> bool:
    """One round trip: the bounded wait, the insert that yields to a committed key, and the wait lifted again, in one
    statement the connection prepares once (`core_idempotency_claim`, core/migrations/0003). True if this call
    inserted the record."""
    with prepared_cursor() as cursor:
        cursor.execute(
            "SELECT core_idempotency_claim(%s, %s, %s, %s, %s, %s)",
            [scope, operation, key, fingerprint, timezone.now(), f"{timeout_ms:d}ms"],
        )
        (claimed,) = cursor.fetchone()
    return claimed is not None


def _claim_insert_portable(*, scope: str, operation: str, key: str, fingerprint: str, timeout_ms: int) -> bool:
    """The same claim through the ORM, for a database without multi-statement queries (SQLite in development)."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                scope=scope, operation=operation, key=key, request_fingerprint=fingerprint,
                response_status=None, response_body=None,
            )  # fmt: skip
    except IntegrityError:
        return False
    return True


def idempotent_api_call(
    request: Request, *, operation: str, action: Callable[[], Response], takes_body: bool = True
) -> Response:
    """The API form of `idempotent_run`: key from the header, scope from the authenticated caller, fingerprint from
    the method, path and parsed body (`takes_body=False` for an operation without input: method and path only); the
    replay carries `Idempotent-Replayed: true`."""
    key = idempotency_key_parse(raw=request.headers.get(HEADER))
    payload = None
    if takes_body:
        data = request.data
        payload = {name: data.getlist(name) for name in data} if hasattr(data, "getlist") else data
    outcome = idempotent_run(
        scope=idempotency_scope(caller=request.user),
        operation=operation,
        key=key,
        fingerprint=request_fingerprint(method=request.method or "POST", path=request.path, payload=payload),
        action=lambda: _status_and_body(action()),
    )
    response = Response(outcome.body, status=outcome.status)
    if outcome.is_replay:
        response[REPLAY_HEADER] = "true"
    return response


def _status_and_body(response: Response) -> tuple[int, Any]:
    return response.status_code, response.data


class IdempotentForm(forms.Form):
    """A form that books money: a hidden one-time key, made when the form is shown, travels with each submission, so
    a double click or a resubmitted page books once (`idempotent_form_run`)."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=KEY_MAX_LENGTH, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["initial"] = {"idempotency_key": uuid.uuid4().hex} | (kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)


def idempotent_form_run(
    request: HttpRequest, *, operation: str, key: str | None, payload: Any, action: Callable[[], Any]
) -> IdempotentOutcome:
    """The page form of `idempotent_run`: key from the form, scope from the signed-in user, fingerprint from the path
    and `payload` (the cleaned fields that matter); `action` returns a JSON-serialisable summary of what it booked."""
    return idempotent_run(
        scope=idempotency_scope(caller=request.user),
        operation=operation,
        key=idempotency_key_parse(raw=key),
        fingerprint=request_fingerprint(method="FORM", path=request.path, payload=payload),
        action=lambda: (201, action()),
    )


def idempotency_records_purge(*, older_than_days: int) -> int:
    """Deletes records older than `older_than_days` (a client retries within minutes, not weeks); returns how many."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
