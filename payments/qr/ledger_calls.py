"""Submitting QR transfers to the ledger and turning its named result codes into the API's error codes."""

from __future__ import annotations

from collections.abc import Sequence

from payments.ledger.services import transfers_create
from payments.ledger.types import ResultCode, TransferSpec
from portal.errors import ApplicationError, ConflictError

# Ledger codes that mean "the authorization is no longer open".
_AUTHORIZATION_CLOSED = {
    ResultCode.PENDING_TRANSFER_ALREADY_POSTED: "authorization_already_captured",
    ResultCode.PENDING_TRANSFER_ALREADY_VOIDED: "authorization_voided",
    ResultCode.PENDING_TRANSFER_EXPIRED: "authorization_expired",
}


class LedgerRefused(ApplicationError):
    """The ledger refused a transfer; `code` is the ledger's own result code, `ledger_code` the enum value."""

    def __init__(self, *, ledger_code: ResultCode) -> None:
        super().__init__(f"The ledger refused the transfer ({ledger_code}).", code=str(ledger_code))
        self.ledger_code = ledger_code


def transfers_submit(*, specs: Sequence[TransferSpec], accept_exists: bool = False) -> list[ResultCode]:
    """Submits `specs` (a linked chain or single transfers) and raises on the first refusal.

    With `accept_exists`, a transfer that was already made with the same id counts as done (a retried call).
    Closed authorizations raise `ConflictError` with `authorization_*` codes; anything else `LedgerRefused`.
    """
    results = transfers_create(transfers=list(specs))
    accepted = {ResultCode.OK, ResultCode.EXISTS} if accept_exists else {ResultCode.OK}
    for result in results:
        if result.code in accepted:
            continue
        if result.code in _AUTHORIZATION_CLOSED:
            raise ConflictError("The authorization is no longer open.", code=_AUTHORIZATION_CLOSED[result.code])
        if result.code is ResultCode.LINKED_EVENT_FAILED:
            continue
        raise LedgerRefused(ledger_code=result.code)
    return [result.code for result in results]


def transfer_one(*, spec: TransferSpec, accept_exists: bool = False) -> ResultCode:
    """Submits one transfer; returns OK (or EXISTS with `accept_exists`), raises otherwise."""
    return transfers_submit(specs=[spec], accept_exists=accept_exists)[0]
