"""The one way into money for every product: open accounts by name, post transfers, derive transfer ids.

Products (QR codes, leasing, machines, settlement) call these functions and nothing below them:
- `account_get_or_open` returns the one account named (ledger, purpose, owner), opening it on first use. The
  database's unique constraint on that name decides a race: the loser of two concurrent first uses reads the
  winner's account.
- `transfer_post` and `transfers_post_linked` submit transfers with a code from the registry and raise one error,
  `LedgerRefused`, carrying the ledger's named result code, when the ledger refuses.
- `transfer_post_with` books one transfer together with the product's own rows (`then`), in one round trip on
  PostgreSQL: the product's rows are written only when the ledger books the transfer.
- `transfer_id_derive` gives the deterministic id of a business event, so a retried call finds its first result
  (`exists`) instead of moving money twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import ApplicationError
from core.sql import prepared_cursor, statements_compose
from payments.ledger import storage
from payments.ledger.engine import RESOLUTION, check_fields
from payments.ledger.registry import HOUSE_ACCOUNTS, PURPOSES, Owner, Purpose, TransferCode
from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import ResultCode, TransferFlags, TransferSpec
from payments.models import Account

# The one namespace of deterministic transfer ids; the context ("qr:authorize", "leasing:collection:41:1") names
# the event inside it.
TRANSFER_NAMESPACE = uuid.UUID("0f6c3a8e-7d21-4b9a-9e34-2a51c8d0b7f3")
_BOOKED = frozenset({ResultCode.OK, ResultCode.EXISTS})


class LedgerRefused(ApplicationError):
    """The ledger refused a transfer and nothing was booked; `code` and `ledger_code` are its named result code."""

    status = 409
    code = "ledger_refused"

    def __init__(self, *, ledger_code: ResultCode, context: str = "") -> None:
        super().__init__(f"The ledger refused {context or 'the transfer'} ({ledger_code}).", code=str(ledger_code))
        self.ledger_code = ledger_code


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """An account's money in minor units of `currency`: `posted` is credits minus debits posted, `held` the debits
    reserved by open pending transfers, `available` what may still be spent (posted minus held)."""

    account_id: int
    posted: int
    held: int
    available: int
    currency: str


def transfer_id_derive(*, context: str, key: str) -> uuid.UUID:
    """The id of the transfer for business event `key` in `context`; the same inputs always give the same id."""
    return uuid.uuid5(TRANSFER_NAMESPACE, f"{context}:{key}")


def account_find(*, ledger: str, purpose: Purpose, owner: Owner) -> Account | None:
    """The account named (ledger, purpose, owner), or None when it was never opened. Opens nothing."""
    return Account.objects.filter(ledger=ledger, purpose=purpose, owner_kind=owner.kind, owner_id=owner.id).first()


def account_id_query(*, ledger: str | Any, purpose: Purpose, owner: Owner) -> QuerySet[Account, int]:
    """The id of the account named (ledger, purpose, owner) as a query, to read inside another one (`ledger` may be an
    `OuterRef`); it finds nothing for an account never opened, and opens nothing."""
    return Account.objects.filter(ledger=ledger, purpose=purpose, owner_kind=owner.kind, owner_id=owner.id).values_list(
        "id", flat=True
    )[:1]


def account_get_or_open(*, ledger: str, purpose: Purpose, owner: Owner) -> Account:
    """The one account of `purpose` for `owner` in `ledger` (ISO 4217), opened on first use with the purpose's chart
    code and flags. Race-safe: concurrent first uses converge on one account through the unique constraint."""
    spec = PURPOSES[purpose]
    if owner.kind is not spec.owner_kind:
        raise ValueError(f"{purpose} accounts belong to {spec.owner_kind} owners, not {owner.kind}")
    existing = account_find(ledger=ledger, purpose=purpose, owner=owner)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return account_create(
                ledger=ledger,
                code=spec.account_code,
                owner_reference=owner.reference,
                flags=spec.flags,
                purpose=purpose,
                owner_kind=owner.kind,
                owner_id=owner.id,
            )
    except IntegrityError:
        found = account_find(ledger=ledger, purpose=purpose, owner=owner)
        if found is None:
            raise
        return found


def house_account_get_or_open(*, ledger: str, purpose: Purpose) -> Account:
    """The portal's own account of `purpose` in `ledger` (card clearing, SEPA bank, lease revenue...)."""
    return account_get_or_open(ledger=ledger, purpose=purpose, owner=Owner.house(HOUSE_ACCOUNTS[purpose]))


def account_balance_get(*, account_id: int) -> AccountBalance:
    """The balance of one account (see `AccountBalance`)."""
    account = Account.objects.get(pk=account_id)
    posted = account.credits_posted - account.debits_posted
    return AccountBalance(
        account_id=account.pk,
        posted=posted,
        held=account.debits_pending,
        available=posted - account.debits_pending,
        currency=account.ledger,
    )


def _declared(spec: TransferSpec) -> TransferSpec:
    """`spec` unchanged when its code is declared in the registry; a product never books an undeclared code."""
    try:
        TransferCode(spec.code)
    except ValueError:
        raise ValueError(f"transfer code {spec.code} is not declared in payments.ledger.registry") from None
    return spec


def transfer_post(*, spec: TransferSpec, accept_exists: bool = False) -> ResultCode:
    """Submits one transfer. Returns `ok`, or `exists` for a retry of the same transfer when `accept_exists`;
    raises `LedgerRefused` on any other result (nothing was booked)."""
    code, _ = _post_one(spec=_declared(spec), then=())
    if code is ResultCode.OK or (accept_exists and code is ResultCode.EXISTS):
        return code
    raise LedgerRefused(ledger_code=code, context=spec.user_data)


# A statement of the product's own: SQL with %s placeholders and its parameters, as Django's compilers give them.
Statement = tuple[str, Sequence[Any]]


def transfer_post_with(*, spec: TransferSpec, then: Sequence[Statement]) -> list[str | None]:
    """Submits one transfer and, only when the ledger books it, runs the statements `then` after it in the same
    transaction: a product's own rows of the booking (its redemption, its stored answer). On PostgreSQL the transfer
    and `then` are one round trip (`payments_transfer_post`) for a single-phase or pending transfer.

    Returns the first column of each statement's first row as text (None for a statement that returned none), in
    order.
    Raises `LedgerRefused` on any result but `ok`, `exists` included (a booking that writes rows with it is never a
    retry); nothing was booked or written then.
    """
    code, answers = _post_one(spec=_declared(spec), then=then)
    if code is not ResultCode.OK:
        raise LedgerRefused(ledger_code=code, context=spec.user_data)
    return answers


def _post_one(*, spec: TransferSpec, then: Sequence[Statement]) -> tuple[ResultCode, list[str | None]]:
    if connection.vendor != "postgresql" or spec.flags & (RESOLUTION | TransferFlags.LINKED):
        # Posts and voids read their pending transfer and its resolutions: the batch path (several round trips).
        with transaction.atomic():
            (result,) = transfers_create(transfers=[spec])
            if result.code is not ResultCode.OK:
                return result.code, []
            answers: list[str | None] = []
            with connection.cursor() as cursor:
                for sql, params in then:
                    cursor.execute(sql, params)
                    row = cursor.fetchone() if cursor.description else None
                    answers.append(None if row is None or row[0] is None else str(row[0]))
        return result.code, answers
    code = check_fields(spec)
    if code is not ResultCode.OK:
        return code, []
    statements = statements_compose(then)
    # Prepared once per connection, its values bound by the server: quoting the statements into the SQL on the client
    # cost more than PostgreSQL's planning of the call. The statements travel as a binary array (`%b`): the text form
    # of an array of SQL text escapes every quote of it with a regular expression, on the client.
    with prepared_cursor() as cursor:
        cursor.execute(
            "SELECT payments_transfer_post(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %b::text[])",
            [
                spec.id, spec.debit_account_id, spec.credit_account_id, spec.amount, spec.ledger, spec.code,
                int(spec.flags), spec.timeout_seconds, spec.user_data, timezone.now(), statements,
            ],
        )  # fmt: skip
        (answers,) = cursor.fetchone()
    code_name, *written = answers  # the result code first, never NULL
    return ResultCode(str(code_name)), written


def transfers_post_linked(*, specs: Sequence[TransferSpec], context: str = "") -> list[ResultCode]:
    """Submits `specs` as one linked chain (all or nothing): the LINKED flag is set on every transfer but the last.

    A retried chain returns `exists` for every transfer and books nothing (the ledger itself refuses a chain at its
    first `exists`, as TigerBeetle does; every id of the chain being stored already is what a retry means). Raises
    `LedgerRefused` with the code of the transfer that broke the chain, or `linked_event_failed` when none names
    one; nothing of the chain was booked then.
    """
    chain = [
        replace(_declared(spec), flags=spec.flags | TransferFlags.LINKED if index < len(specs) - 1 else spec.flags)
        for index, spec in enumerate(specs)
    ]
    codes = [result.code for result in transfers_create(transfers=chain)]
    if ResultCode.EXISTS in codes and len(storage.transfers_fetch(transfer_ids=[spec.id for spec in chain])) == len(
        chain
    ):
        return [ResultCode.EXISTS] * len(chain)
    refused = [code for code in codes if code not in _BOOKED and code is not ResultCode.LINKED_EVENT_FAILED]
    if refused:
        raise LedgerRefused(ledger_code=refused[0], context=context)
    if ResultCode.LINKED_EVENT_FAILED in codes:
        raise LedgerRefused(ledger_code=ResultCode.LINKED_EVENT_FAILED, context=context)
    return codes
