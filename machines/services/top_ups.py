"""Owners fund their vehicle's wallet: from one of their QR codes' balance, or by card through the portal's checkout.

Both ways are the vehicle owner's alone (back office books money received by other means with
`registry.vehicle_top_up`). Amounts are minor units of the wallet's currency, between `TOP_UP_MIN_AMOUNT` and
`TOP_UP_MAX_AMOUNT` per top-up.

- From a code: one ledger transfer code -> wallet, booked now (payments.qr.wallet_funding); the code must be the
  owner's, spendable, and its dealer restriction must fit every operator the vehicle may charge with.
- By card: a checkout order that credits the wallet when the acquirer confirms the payment, exactly once (the
  transfer id is derived from the order); the owner pays on the acquirer's page like any card order.
"""

from __future__ import annotations

import uuid

from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import ValidationFailed
from core.money import Money
from machines.models import Vehicle, VehicleOperatorApproval
from payments.checkout.providers import CheckoutStart
from payments.checkout.services import checkout_top_up_order_create
from payments.qr.wallet_funding import qr_code_wallet_fund

TOP_UP_MIN_AMOUNT = 100  # 1.00 EUR
TOP_UP_MAX_AMOUNT = 50_000  # 500.00 EUR


def top_up_amount_check(*, vehicle: Vehicle, amount: int) -> None:
    """Refuses an amount outside the per-top-up limits (`amount_out_of_range`, on the amount field)."""
    if not TOP_UP_MIN_AMOUNT <= amount <= TOP_UP_MAX_AMOUNT:
        raise ValidationFailed(
            gettext_lazy("Choose an amount from %(minimum)s to %(maximum)s.")
            % {
                "minimum": Money(TOP_UP_MIN_AMOUNT, vehicle.currency).format(),
                "maximum": Money(TOP_UP_MAX_AMOUNT, vehicle.currency).format(),
            },
            code="amount_out_of_range",
            fields={"amount": []},
        )


def _owner_check(*, vehicle: Vehicle, owner: User) -> None:
    if vehicle.owner_id != owner.pk:  # callers resolve the vehicle with vehicle_get_for_owner; this is the guard
        raise ValidationFailed(gettext_lazy("Only the vehicle's owner can top up its wallet."), code="not_owner")
    if not vehicle.is_active:
        raise ValidationFailed(gettext_lazy("This vehicle is blocked."), code="vehicle_blocked")


def vehicle_payee_organisations(*, vehicle: Vehicle) -> list[int | None]:
    """The dealer organisations running the operators the vehicle may charge with now (None: an operator that is no
    dealer): where money put into its wallet can go."""
    approvals = VehicleOperatorApproval.objects.filter(vehicle=vehicle, revoked_at__isnull=True).select_related(
        "operator__owner"
    )
    return [approval.operator.owner.dealer_organisation_id for approval in approvals]


def vehicle_top_up_from_code(
    *, vehicle: Vehicle, owner: User, code_public_id: uuid.UUID, amount: int, key: str
) -> uuid.UUID:
    """Moves `amount` minor units from the owner's code to the vehicle's wallet; the same `key` books once.

    Refusals change nothing and name their field: amount_out_of_range, insufficient_balance (amount), code_unknown,
    code_blocked, code_expired, currency_mismatch, code_not_accepted_here (code).
    """
    _owner_check(vehicle=vehicle, owner=owner)
    top_up_amount_check(vehicle=vehicle, amount=amount)
    return qr_code_wallet_fund(
        customer=owner,
        code_public_id=code_public_id,
        wallet_account_id=vehicle.wallet_account_id,
        amount=amount,
        payee_organisation_ids=vehicle_payee_organisations(vehicle=vehicle),
        key=key,
    )


def vehicle_top_up_by_card_start(*, vehicle: Vehicle, owner: User, amount: int, return_path: str) -> CheckoutStart:
    """Places a card order that credits the wallet once paid; returns the acquirer's page to continue on."""
    _owner_check(vehicle=vehicle, owner=owner)
    top_up_amount_check(vehicle=vehicle, amount=amount)
    _, start = checkout_top_up_order_create(
        customer=owner,
        credit_account_id=vehicle.wallet_account_id,
        amount=amount,
        return_path=return_path,
    )
    return start
