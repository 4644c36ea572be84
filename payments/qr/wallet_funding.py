"""A customer moves part of a QR code's balance into a wallet account they fund (a vehicle's wallet).

One posted ledger transfer from the code's account to the wallet (code MACHINE_TOP_UP): money changes place, none is
created. The code passes the checks of every other way of spending it (active, not expired, same currency) and its
restriction to dealers: a code accepted only by some dealers may fund a wallet only when every business that may take
money from that wallet (`payee_organisation_ids`, the dealer organisations running the stations the vehicle may
charge at; None for one that is no dealer) is among them. A code accepted everywhere always fits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from django.db import transaction
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import ValidationFailed
from payments.ledger.client import LedgerRefused, transfer_post
from payments.ledger.registry import Purpose, TransferCode
from payments.ledger.types import ResultCode, TransferSpec
from payments.models import Account, QrCode
from payments.qr.services import qr_code_acceptance_check, qr_transfer_id

FUNDABLE_PURPOSES = frozenset({Purpose.MACHINE_WALLET})


def qr_wallet_funding_transfer_id(*, customer_id: int, key: str) -> uuid.UUID:
    """The transfer of one funding request: the customer's idempotency key names it, so a retry books nothing."""
    return qr_transfer_id(purpose=f"wallet-funding:{customer_id}:{key}")


def qr_code_fits_payees(*, code: QrCode, payee_organisation_ids: Collection[int | None]) -> bool:
    """Whether money from `code` may go where the wallet can spend it (see the module docstring)."""
    accepted_by = set(code.product.accepted_by.values_list("pk", flat=True))
    if not accepted_by:
        return True
    return bool(payee_organisation_ids) and all(payee in accepted_by for payee in payee_organisation_ids)


@transaction.atomic
def qr_code_wallet_fund(
    *,
    customer: User,
    code_public_id: uuid.UUID,
    wallet_account_id: int,
    amount: int,
    payee_organisation_ids: Collection[int | None],
    key: str,
) -> uuid.UUID:
    """Moves `amount` minor units from the customer's code to the wallet account; returns the transfer id.

    Refusals name the form field they belong to and change nothing: code_unknown (not the customer's code),
    code_blocked, code_expired, currency_mismatch, code_not_accepted_here (its dealer restriction does not fit),
    insufficient_balance. Called again with the same `key` it books nothing and returns the same id.
    """
    code = (
        QrCode.objects.select_for_update()
        .select_related("product")
        .filter(public_id=code_public_id, owner=customer)
        .first()
    )
    if code is None:
        raise ValidationFailed(gettext_lazy("Choose one of your codes."), code="code_unknown", fields={"code": []})
    wallet = Account.objects.filter(pk=wallet_account_id, purpose__in=list(FUNDABLE_PURPOSES)).first()
    if wallet is None:
        raise ValidationFailed(gettext_lazy("This wallet cannot be topped up."), code="wallet_unknown")
    try:
        qr_code_acceptance_check(
            code=code,
            dealer_organisation_id=0,
            currency=wallet.ledger,
            accepted_here=qr_code_fits_payees(code=code, payee_organisation_ids=payee_organisation_ids),
        )
    except ValidationFailed as refusal:
        if refusal.code == "code_not_accepted_here":
            refusal = ValidationFailed(
                gettext_lazy("This code is only accepted by some dealers, and this vehicle may also charge elsewhere."),
                code="code_not_accepted_here",
            )
        refusal.fields = {"code": []}
        raise refusal from None
    transfer_id = qr_wallet_funding_transfer_id(customer_id=customer.pk, key=key)
    try:
        transfer_post(
            spec=TransferSpec(
                id=transfer_id, debit_account_id=code.account_id, credit_account_id=wallet.pk, amount=amount,
                ledger=wallet.ledger, code=TransferCode.MACHINE_TOP_UP,
                user_data=f"qr-wallet-funding:{code.public_id.hex[:16]}",
            ),
            accept_exists=True,
        )  # fmt: skip
    except LedgerRefused as refusal:
        if refusal.ledger_code is ResultCode.EXCEEDS_CREDITS:
            raise ValidationFailed(
                gettext_lazy("The code's balance does not cover this amount."),
                code="insufficient_balance",
                fields={"amount": []},
            ) from None
        raise
    return transfer_id
