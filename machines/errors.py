"""Refusals of the machines app: each has a code that the API and the OCPP gateway pass on to the caller."""

from __future__ import annotations

from core.errors import ApplicationError, ConflictError, ValidationFailed


class ChargingRefused(ValidationFailed):
    """An OCPP request the gateway refuses (unknown transaction, decreasing meter, ...); nothing was changed."""

    code = "charging_refused"


class TransactionUnknown(ChargingRefused):
    code = "transaction_unknown"


class TransactionConflict(ConflictError):
    """A repeated message that contradicts what was already recorded for the transaction."""

    code = "transaction_conflict"


class MachineAuthenticationFailed(ApplicationError):
    """A machine request whose signature, timestamp or nonce does not check out: HTTP 401."""

    status = 401
    code = "machine_signature_invalid"


class ReviewForbidden(ApplicationError):
    """Someone other than back office tried to decide a station's registration review: HTTP 403."""

    status = 403
    code = "station_review_forbidden"
