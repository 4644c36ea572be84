"""Row access for the ledger services: locking accounts in id order, reading transfers, inserting a batch.

On PostgreSQL a batch is written with one COPY; the AFTER INSERT trigger then updates every touched account in one
statement. On SQLite (the embedded default) the batch goes through `bulk_create` and row-level triggers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.db import connection

from payments.ledger.engine import AccountState, StoredTransfer
from payments.models import Account, PendingTransferTimeout, Transfer

_TRANSFER_COLUMNS = (
    "id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "ledger",
    "code",
    "flags",
    "pending_id",
    "timeout_seconds",
    "expires_at",
    "user_data",
    "created_at",
)
_ACCOUNT_COLUMNS = (
    "id",
    "ledger",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "is_closed",
    "debits_pending",
    "debits_posted",
    "credits_pending",
    "credits_posted",
)


def accounts_lock(*, account_ids: Iterable[int]) -> dict[int, AccountState]:
    """Locks the accounts with `SELECT ... FOR UPDATE` in ascending id order (deadlock-free) and returns their state."""
    ids = sorted({account_id for account_id in account_ids if account_id > 0})
    if not ids:
        return {}
    rows = Account.objects.select_for_update().filter(id__in=ids).order_by("id").values_list(*_ACCOUNT_COLUMNS)
    return {row[0]: AccountState(*row) for row in rows}


def pending_timeouts_lock(*, pending_ids: Iterable[uuid.UUID]) -> None:
    """Locks the expiry rows of pending transfers about to be resolved, in id order, before any account lock.

    The expiry service takes these rows first too (with SKIP LOCKED), so both paths lock in the same order.
    """
    ids = sorted(set(pending_ids))
    if ids:
        list(
            PendingTransferTimeout.objects.select_for_update()
            .filter(transfer_id__in=ids)
            .order_by("transfer_id")
            .values_list("transfer_id", flat=True)
        )


def transfers_fetch(*, transfer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, StoredTransfer]:
    """The stored transfers among `transfer_ids`, by id."""
    ids = list(set(transfer_ids))
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(_TRANSFER_COLUMNS)} FROM payments_transfer WHERE id = ANY(%s::uuid[])",  # noqa: S608
                [ids],
            )
            rows = cursor.fetchall()
    else:
        rows = list(Transfer.objects.filter(id__in=ids).values_list(*_TRANSFER_COLUMNS))
    return {row[0]: StoredTransfer(*row) for row in rows}


def resolutions_fetch(*, pending_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """For each pending transfer already posted or voided: the flags of the transfer that resolved it."""
    ids = list(set(pending_ids))
    if not ids:
        return {}
    rows = Transfer.objects.filter(pending_id__in=ids).values_list("pending_id", "flags")
    return {pending_id: flags & 12 for pending_id, flags in rows}


def transfers_insert(*, transfers: Sequence[StoredTransfer]) -> None:
    """Inserts accepted transfers; the database trigger applies them to both of their accounts."""
    if not transfers:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            statement = f"COPY payments_transfer ({', '.join(_TRANSFER_COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                for transfer in transfers:
                    copy.write_row(
                        (
                            transfer.id,
                            transfer.debit_account_id,
                            transfer.credit_account_id,
                            transfer.amount,
                            transfer.ledger,
                            transfer.code,
                            transfer.flags,
                            transfer.pending_id,
                            transfer.timeout_seconds,
                            transfer.expires_at,
                            transfer.user_data,
                            transfer.created_at,
                        )
                    )
        return
    Transfer.objects.bulk_create(
        [Transfer(**{column: getattr(transfer, column) for column in _TRANSFER_COLUMNS}) for transfer in transfers],
        batch_size=500,
    )


def pending_timeouts_update(*, accepted: Sequence[StoredTransfer]) -> None:
    """Adds expiry rows for new pending transfers with a timeout and removes those of resolved ones."""
    resolved = {transfer.pending_id for transfer in accepted if transfer.pending_id is not None}
    opened = [
        PendingTransferTimeout(transfer_id=transfer.id, expires_at=transfer.expires_at)
        for transfer in accepted
        if transfer.expires_at is not None and transfer.id not in resolved
    ]
    if resolved:
        PendingTransferTimeout.objects.filter(transfer_id__in=resolved).delete()
    if opened:
        PendingTransferTimeout.objects.bulk_create(opened, batch_size=2000)
