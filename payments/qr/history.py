"""The movements of one QR code as its owner's phone app shows them: what happened, when, how much in or out.

Read from the ledger like the statements (payments.statements): voided reservations and reservations already
resolved are left out (the resolution is the movement), open reservations are listed as reserved. Each movement is
named by a stable machine word (`kind`) that clients translate themselves.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Q

from core.money import Money
from payments.ledger.registry import TransferCode
from payments.ledger.types import TransferFlags
from payments.models import QrCode, Transfer

MOVEMENT_KINDS: dict[int, str] = {
    TransferCode.QR_PURCHASE: "purchase",
    TransferCode.QR_REDEMPTION: "dealer_payment",
    TransferCode.QR_REFUND: "refund",
    TransferCode.QR_BALANCE_MOVE: "balance_move",
    TransferCode.QR_INVOICE: "invoice_payment",
    TransferCode.MACHINE_TOP_UP: "vehicle_top_up",
}
OTHER_KIND = "other"


@dataclass(frozen=True, slots=True)
class CodeMovement:
    """One movement of a code: `amount` signed (+ into the code, - out of it); `is_reserved` while a dealer holds it."""

    transfer_id: uuid.UUID
    kind: str
    booked_at: datetime.datetime
    amount: Money
    is_reserved: bool


def code_movement_list(*, code: QrCode) -> list[CodeMovement]:
    """Every movement of `code`'s account, newest first."""
    account_id = code.account_id
    transfers = list(
        Transfer.objects.filter(Q(debit_account_id=account_id) | Q(credit_account_id=account_id))
        .select_related("pending")
        .order_by("-created_at", "-id")
    )
    pending_ids = [transfer.id for transfer in transfers if transfer.flags & TransferFlags.PENDING]
    resolved = set(Transfer.objects.filter(pending_id__in=pending_ids).values_list("pending_id", flat=True))
    movements = []
    for transfer in transfers:
        is_pending = bool(transfer.flags & TransferFlags.PENDING)
        if transfer.flags & TransferFlags.VOID_PENDING or (is_pending and transfer.id in resolved):
            continue
        sign = 1 if transfer.credit_account_id == account_id else -1
        movements.append(
            CodeMovement(
                transfer_id=transfer.id,
                kind=MOVEMENT_KINDS.get(transfer.code, OTHER_KIND),
                booked_at=transfer.created_at,
                amount=Money(sign * transfer.amount, transfer.ledger),
                is_reserved=is_pending,
            )
        )
    return movements
