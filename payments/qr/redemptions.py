"""Dealers redeeming QR payment codes: authorize (a pending transfer), capture fully or partly, void, refund.

Authorization: PENDING transfer code account -> dealer clearing. Capture: POST_PENDING of the captured amount (the
rest returns to the code) linked with a PENDING transfer dealer clearing -> dealer payable, whose settlement is
requested in the same transaction; a settlement batch in Celery posts it (the payout). Refund after capture: a new
transfer dealer payable -> the code (or the code that replaced it). Every refusal has a named code and changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import DealerOrganisation, User
from core.errors import ConflictError, ValidationFailed
from core.sql import CompiledQuery, Statement, insert_statement, saved_mark
from payments.ledger.client import (
    LedgerRefused,
    account_get_or_open,
    account_id_query,
    transfer_post,
    transfer_post_with,
    transfers_post_linked,
)
from payments.ledger.registry import Owner, Purpose, TransferCode
from payments.ledger.services import expiry_void_id, pending_transfer_expire
from payments.ledger.types import ResultCode, TransferFlags, TransferSpec
from payments.models import Account, QrCode, QrProduct, QrRedemption, QrRedemptionStatus, QrRefund, Transfer
from payments.qr.services import qr_code_acceptance_check, qr_code_balance_sweep, qr_code_current, qr_transfer_id
from payments.qr.tokens import QrTokenClaims, qr_token_verify
from payments.settlement.services import settlement_request

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    """What a dealer asks: `amount` minor units of `currency` from the code in `token`, under `idempotency_key`."""

    token: str
    amount: int
    currency: str
    idempotency_key: str
    reference: str = ""

    def fingerprint(self) -> str:
        text = "\x1f".join([self.token.strip().upper(), str(self.amount), self.currency, self.reference])
        return hashlib.sha256(text.encode()).hexdigest()


def authorization_timeout_seconds() -> int:
    """Seconds a dealer has to capture before the ledger's expiry task voids the authorization (default 7 days)."""
    return settings.PAYMENTS_QR_AUTHORIZATION_TIMEOUT_SECONDS


def _dealer_organisation(*, user: User) -> DealerOrganisation:
    if user.dealer_organisation_id is None:
        raise ValidationFailed(
            gettext_lazy("Your account belongs to no dealer organisation."), code="dealer_organisation_missing"
        )
    return user.dealer_organisation


def qr_redemption_authorize(
    *, user: User, request: RedemptionRequest, answer: Callable[[QrRedemption], Statement] | None = None
) -> QrRedemption:
    """Authorizes `request.amount` on a code for the dealer's organisation.

    `answer`, given the redemption about to be written, returns the statement that stores the caller's answer with it
    (`core.idempotency.idempotency_answer_statement`): the pending transfer, the redemption and the answer are then
    written in one round trip, and only when the ledger books the transfer.

    Callers run it under `core.idempotency` with `request.idempotency_key`: a retry with the same key gets the first
    answer from there and never reaches this function. The key is also stored on the redemption, whose unique
    constraint per organisation stands behind that rule in the database.
    Refusals (named codes): token_malformed, token_signature_invalid, code_unknown, code_expired, code_blocked,
    currency_mismatch, code_not_accepted_here, code_exhausted, insufficient_balance.
    """
    organisation = _dealer_organisation(user=user)
    claims = qr_token_verify(token=request.token)
    return _authorize(user=user, organisation=organisation, request=request, claims=claims, answer=answer)


# No savepoint of its own: a refusal raised here ends the caller's transaction too, and every caller (the API and
# the staff form, both under core.idempotency) lets it propagate; two round trips fewer per redemption.
@transaction.atomic(savepoint=False)
def _authorize(
    *,
    user: User,
    organisation: DealerOrganisation,
    request: RedemptionRequest,
    claims: QrTokenClaims,
    answer: Callable[[QrRedemption], Statement] | None,
) -> QrRedemption:
    code = _code_for_redemption(claims=claims, organisation=organisation, currency=request.currency)
    clearing_id = code.dealer_clearing_account_id or (
        _dealer_account(purpose=Purpose.QR_DEALER_CLEARING, organisation_id=organisation.pk, currency=code.currency).pk
    )
    redemption = QrRedemption(
        dealer_organisation=organisation,
        created_by=user,
        code=code,
        idempotency_key=request.idempotency_key,
        request_fingerprint=request.fingerprint(),
        amount=request.amount,
        currency=code.currency,
        reference=request.reference,
    )
    redemption.authorization_transfer_id = qr_transfer_id(purpose=f"authorize:{redemption.public_id}")
    statements = [insert_statement(redemption)]  # sets created_at, so that the answer can be made before the write
    if answer is not None:
        statements.append(answer(redemption))
    try:
        written = transfer_post_with(
            spec=TransferSpec(
                id=redemption.authorization_transfer_id,
                debit_account_id=code.account_id,
                credit_account_id=clearing_id,
                amount=request.amount,
                ledger=code.currency,
                code=TransferCode.QR_REDEMPTION,
                flags=TransferFlags.PENDING,
                timeout_seconds=authorization_timeout_seconds(),
                user_data=f"qr-redemption:{redemption.public_id.hex[:16]}",
            ),
            then=statements,
        )
    except LedgerRefused as refusal:
        if refusal.ledger_code is ResultCode.EXCEEDS_CREDITS:
            _raise_balance_refusal(code=code)
        raise
    if None in written:
        raise RuntimeError("the redemption's answer found no idempotency claim to store it in")
    saved_mark(redemption, primary_key=written[0])
    return redemption


def _dealer_account(*, purpose: Purpose, organisation_id: int, currency: str) -> Account:
    return account_get_or_open(ledger=currency, purpose=purpose, owner=Owner.dealer(organisation_id))


# Ledger codes that mean "the authorization is no longer open", as the API names them.
_AUTHORIZATION_CLOSED = {
    ResultCode.PENDING_TRANSFER_ALREADY_POSTED: "authorization_already_captured",
    ResultCode.PENDING_TRANSFER_ALREADY_VOIDED: "authorization_voided",
    ResultCode.PENDING_TRANSFER_EXPIRED: "authorization_expired",
}


@contextlib.contextmanager
def _authorization_must_be_open() -> Iterator[None]:
    """Turns the ledger's refusal of a capture or void of a closed authorization into the API's conflict codes."""
    try:
        yield
    except LedgerRefused as refusal:
        if refusal.ledger_code in _AUTHORIZATION_CLOSED:
            raise ConflictError(
                "The authorization is no longer open.", code=_AUTHORIZATION_CLOSED[refusal.ledger_code]
            ) from None
        raise


def _code_for_redemption_query(*, public_id: uuid.UUID, organisation_id: int) -> QuerySet[QrCode]:
    """One round trip: the code locked (only its row: locking the product too would queue every redemption of the
    product behind one another), its product, whether the product is accepted by this organisation, and the
    organisation's clearing account in the code's currency (None before its first redemption there)."""
    accepted_by = QrProduct.accepted_by.through.objects.filter(qrproduct_id=OuterRef("product_id"))
    clearing = account_id_query(
        ledger=OuterRef("currency"), purpose=Purpose.QR_DEALER_CLEARING, owner=Owner.dealer(organisation_id)
    )
    return (
        QrCode.objects.select_for_update(of=("self",))
        .select_related("product")
        .annotate(
            accepted_by_all=~Exists(accepted_by),
            accepted_by_organisation=Exists(accepted_by.filter(dealerorganisation_id=organisation_id)),
            dealer_clearing_account_id=Subquery(clearing),
        )
        .filter(public_id=public_id)[:1]
    )


# Compiled once per process: building and compiling this queryset took longer than the rest of a redemption.
_CODE_FOR_REDEMPTION = CompiledQuery(_code_for_redemption_query, public_id=uuid.UUID, organisation_id=int)


def _code_for_redemption(*, claims: QrTokenClaims, organisation: DealerOrganisation, currency: str) -> QrCode:
    """The code a verified token names, locked; refuses unknown codes and stale or expired tokens here, and
    everything else through the acceptance check every spending path shares."""
    code = _CODE_FOR_REDEMPTION.first(public_id=claims.public_id, organisation_id=organisation.pk)
    if code is None:
        raise ValidationFailed(gettext_lazy("This payment code is unknown."), code="code_unknown")
    if claims.version != code.version:
        raise ValidationFailed(gettext_lazy("This payment code is blocked."), code="code_blocked")
    now = timezone.now()
    if claims.expires_at <= now:
        raise ValidationFailed(gettext_lazy("This payment code has expired."), code="code_expired")
    qr_code_acceptance_check(
        code=code, dealer_organisation_id=organisation.pk, currency=currency, now=now,
        accepted_here=code.accepted_by_all or code.accepted_by_organisation,
    )  # fmt: skip
    return code


def _raise_balance_refusal(*, code: QrCode) -> None:
    account = Account.objects.get(pk=code.account_id)
    if account.credits_posted - account.debits_posted <= 0:
        raise ValidationFailed(gettext_lazy("This payment code has no balance left."), code="code_exhausted")
    raise ValidationFailed(
        gettext_lazy("The code's available balance does not cover the amount."), code="insufficient_balance"
    )


def _lock_redemption(*, redemption_id: int) -> QrRedemption:
    return QrRedemption.objects.select_for_update().select_related("code").get(pk=redemption_id)


def _refuse_unless_authorized(*, redemption: QrRedemption) -> None:
    """Capture and void need an open authorization. An expired one answers `authorization_expired`, whether the
    expiry already ran (status `expired`) or not yet (the ledger refuses the expired pending transfer the same way)."""
    if redemption.status == QrRedemptionStatus.EXPIRED:
        raise ConflictError(
            gettext_lazy("The authorization has expired; its amount went back to the code."),
            code="authorization_expired",
        )
    if redemption.status != QrRedemptionStatus.AUTHORIZED:
        raise ConflictError(f"The redemption is {redemption.status}.", code=f"redemption_{redemption.status}")


@transaction.atomic
def qr_redemption_capture(*, redemption_id: int, amount: int) -> QrRedemption:
    """Captures `amount` minor units (at most the authorized amount; the rest is released to the code).

    Requests settlement of the captured amount to the dealer in the same transaction. Capturing the same amount
    again returns the redemption unchanged; anything else on a closed authorization is a conflict.
    """
    redemption = _lock_redemption(redemption_id=redemption_id)
    if redemption.status == QrRedemptionStatus.CAPTURED and redemption.captured_amount == amount:
        return redemption
    _refuse_unless_authorized(redemption=redemption)
    if not 0 < amount <= redemption.amount:
        raise ValidationFailed(
            gettext_lazy("Capture between 0.01 and the authorized amount."), code="amount_exceeds_authorization"
        )
    organisation_id = redemption.dealer_organisation_id
    clearing = _dealer_account(
        purpose=Purpose.QR_DEALER_CLEARING, organisation_id=organisation_id, currency=redemption.currency
    )
    payable = _dealer_account(
        purpose=Purpose.QR_DEALER_PAYABLE, organisation_id=organisation_id, currency=redemption.currency
    )
    capture_id = qr_transfer_id(purpose=f"capture:{redemption.public_id}")
    settlement_id = qr_transfer_id(purpose=f"settle:{redemption.public_id}")
    label = redemption.public_id.hex[:16]
    with _authorization_must_be_open():
        transfers_post_linked(
            specs=[
                TransferSpec(
                    id=capture_id,
                    debit_account_id=redemption.code.account_id,
                    credit_account_id=clearing.pk,
                    amount=amount,
                    ledger=redemption.currency,
                    code=TransferCode.QR_REDEMPTION,
                    flags=TransferFlags.POST_PENDING,
                    pending_id=redemption.authorization_transfer_id,
                    user_data=f"qr-capture:{label}",
                ),
                TransferSpec(
                    id=settlement_id,
                    debit_account_id=clearing.pk,
                    credit_account_id=payable.pk,
                    amount=amount,
                    ledger=redemption.currency,
                    code=TransferCode.QR_SETTLEMENT,
                    flags=TransferFlags.PENDING,
                    user_data=f"qr-settlement:{label}",
                ),
            ]
        )
    settlement_request(pending_transfer_id=settlement_id)
    QrRedemption.objects.filter(pk=redemption.pk).update(
        status=QrRedemptionStatus.CAPTURED, captured_amount=amount, capture_transfer_id=capture_id,
        settlement_transfer_id=settlement_id, resolved_at=timezone.now(),
    )  # fmt: skip
    qr_code_balance_sweep(code=redemption.code, purpose=f"release:{redemption.public_id}")
    redemption.refresh_from_db()
    return redemption


@transaction.atomic
def qr_redemption_void(*, redemption_id: int) -> QrRedemption:
    """Cancels an authorization: the reserved amount returns to the code (or moves on to its replacement)."""
    redemption = _lock_redemption(redemption_id=redemption_id)
    if redemption.status == QrRedemptionStatus.VOIDED:
        return redemption
    _refuse_unless_authorized(redemption=redemption)
    void_id = qr_transfer_id(purpose=f"void:{redemption.public_id}")
    clearing = _dealer_account(
        purpose=Purpose.QR_DEALER_CLEARING,
        organisation_id=redemption.dealer_organisation_id,
        currency=redemption.currency,
    )
    with _authorization_must_be_open():
        transfer_post(
            spec=TransferSpec(
                id=void_id, debit_account_id=redemption.code.account_id, credit_account_id=clearing.pk,
                amount=redemption.amount, ledger=redemption.currency, code=TransferCode.QR_REDEMPTION,
                flags=TransferFlags.VOID_PENDING, pending_id=redemption.authorization_transfer_id,
                user_data=f"qr-void:{redemption.public_id.hex[:16]}",
            )
        )  # fmt: skip
    QrRedemption.objects.filter(pk=redemption.pk).update(
        status=QrRedemptionStatus.VOIDED, void_transfer_id=void_id, resolved_at=timezone.now()
    )
    qr_code_balance_sweep(code=redemption.code, purpose=f"release:{redemption.public_id}")
    redemption.refresh_from_db()
    return redemption


@transaction.atomic
def qr_redemption_refund(*, redemption_id: int, user: User, amount: int) -> QrRefund:
    """Gives back up to the captured minus already refunded amount, as a new transfer from the dealer's payable
    account to the code (or the active code that replaced it)."""
    redemption = _lock_redemption(redemption_id=redemption_id)
    if redemption.status != QrRedemptionStatus.CAPTURED:
        raise ConflictError(gettext_lazy("Only a captured redemption can be refunded."), code="redemption_not_captured")
    if not 0 < amount <= redemption.captured_amount - redemption.refunded_amount:
        raise ValidationFailed(
            gettext_lazy("The refund exceeds what is left of the capture."), code="refund_exceeds_capture"
        )
    target = qr_code_current(code=redemption.code)
    payable = _dealer_account(
        purpose=Purpose.QR_DEALER_PAYABLE,
        organisation_id=redemption.dealer_organisation_id,
        currency=redemption.currency,
    )
    number = redemption.refunds.count() + 1
    transfer_id = qr_transfer_id(purpose=f"refund:{redemption.public_id}:{number}")
    transfer_post(
        spec=TransferSpec(
            id=transfer_id, debit_account_id=payable.pk, credit_account_id=target.account_id, amount=amount,
            ledger=redemption.currency, code=TransferCode.QR_REFUND,
            user_data=f"qr-refund:{redemption.public_id.hex[:16]}:{number}",
        )
    )  # fmt: skip
    QrRedemption.objects.filter(pk=redemption.pk).update(refunded_amount=redemption.refunded_amount + amount)
    return QrRefund.objects.create(
        redemption=redemption, code=target, amount=amount, transfer_id=transfer_id, created_by=user
    )


def qr_authorizations_expire(*, now: datetime.datetime | None = None) -> int:
    """Closes every authorization whose timeout has passed: the ledger voids its pending transfer, the redemption
    becomes `expired`, and the released amount follows a blocked code to its replacement, all in one transaction
    per redemption. Runs before the ledger's own expiry (same void ids), and picks up any authorization that expiry
    voided first. Safe to run twice and concurrently (rows taken with SKIP LOCKED); returns how many it closed."""
    now = now or timezone.now()
    # Open authorizations only (a partial index), each checked by its transfer's primary key.
    is_due = Exists(Transfer.objects.filter(pk=OuterRef("authorization_transfer_id"), expires_at__lte=now))
    due = QrRedemption.objects.filter(is_due, status=QrRedemptionStatus.AUTHORIZED).order_by("pk")
    closed = 0
    for redemption_id in due.values_list("pk", flat=True):
        closed += _authorization_expire(redemption_id=redemption_id, now=now)
    return closed


@transaction.atomic
def _authorization_expire(*, redemption_id: int, now: datetime.datetime) -> bool:
    redemption = (
        QrRedemption.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("code")
        .filter(pk=redemption_id, status=QrRedemptionStatus.AUTHORIZED)
        .first()
    )
    if redemption is None:
        return False  # resolved meanwhile, or another run holds it
    result = pending_transfer_expire(pending_id=redemption.authorization_transfer_id, now=now)
    if result not in (ResultCode.OK, ResultCode.EXISTS):
        logger.warning("authorization of redemption %s not expired: %s", redemption.public_id, result)
        return False
    QrRedemption.objects.filter(pk=redemption.pk).update(
        status=QrRedemptionStatus.EXPIRED,
        void_transfer_id=expiry_void_id(pending_id=redemption.authorization_transfer_id),
        resolved_at=now,
    )
    qr_code_balance_sweep(code=redemption.code, purpose=f"release:{redemption.public_id}")
    return True
