"""Dealers authorize, capture (fully or partly), void and refund; settlement pays the dealer through the ledger."""

from __future__ import annotations

import pytest

from core.errors import ApplicationError
from core.money import Money
from payments.ledger import Owner, Purpose, account_get_or_open
from payments.models import (
    QrCodeStatus,
    QrRedemptionStatus,
    SettlementItem,
    SettlementItemState,
)
from payments.qr.redemptions import (
    RedemptionRequest,
    qr_redemption_authorize,
    qr_redemption_capture,
    qr_redemption_refund,
    qr_redemption_void,
)
from payments.qr.selectors import qr_code_view
from payments.qr.services import qr_code_block_and_replace
from payments.qr.statements import customer_statement, dealer_statement
from payments.tests.qr.factories import account_balance

pytestmark = pytest.mark.django_db


def _authorize(dealer, code, amount: int, key: str = "key-1"):
    token = qr_code_view(code=code).token
    request = RedemptionRequest(token=token, amount=amount, currency="EUR", idempotency_key=key)
    return qr_redemption_authorize(user=dealer, request=request)


def test_authorization_reserves_the_amount_on_the_code(dealer, code):
    redemption = _authorize(dealer, code, 2_000)

    assert redemption.status == QrRedemptionStatus.AUTHORIZED
    assert account_balance(code.account_id) == (2_000, 0, 0, 5_000)
    view = qr_code_view(code=code)
    assert (view.balance, view.available) == (Money(5_000, "EUR"), Money(3_000, "EUR"))


def test_partial_capture_releases_the_rest_and_settlement_pays_the_dealer(
    dealer, code, django_capture_on_commit_callbacks
):
    redemption = _authorize(dealer, code, 3_000)

    with django_capture_on_commit_callbacks(execute=True):
        captured = qr_redemption_capture(redemption_id=redemption.pk, amount=2_000)

    assert (captured.status, captured.captured_amount) == (QrRedemptionStatus.CAPTURED, 2_000)
    assert account_balance(code.account_id) == (0, 2_000, 0, 5_000)
    organisation_id = dealer.dealer_organisation_id
    payable = account_get_or_open(ledger="EUR", purpose=Purpose.QR_DEALER_PAYABLE, owner=Owner.dealer(organisation_id))
    clearing = account_get_or_open(
        ledger="EUR", purpose=Purpose.QR_DEALER_CLEARING, owner=Owner.dealer(organisation_id)
    )
    assert account_balance(payable.pk) == (0, 0, 0, 2_000)
    assert account_balance(clearing.pk) == (0, 2_000, 0, 2_000)
    item = SettlementItem.objects.get(pending_transfer_id=captured.settlement_transfer_id)
    assert item.state == SettlementItemState.SETTLED


def test_capture_twice_with_the_same_amount_changes_nothing(dealer, code, django_capture_on_commit_callbacks):
    redemption = _authorize(dealer, code, 3_000)
    with django_capture_on_commit_callbacks(execute=True):
        qr_redemption_capture(redemption_id=redemption.pk, amount=3_000)

    again = qr_redemption_capture(redemption_id=redemption.pk, amount=3_000)

    assert again.captured_amount == 3_000
    assert account_balance(code.account_id) == (0, 3_000, 0, 5_000)


def test_capture_above_the_authorization_is_refused(dealer, code):
    redemption = _authorize(dealer, code, 3_000)

    with pytest.raises(ApplicationError) as refusal:
        qr_redemption_capture(redemption_id=redemption.pk, amount=3_001)

    assert refusal.value.code == "amount_exceeds_authorization"
    assert account_balance(code.account_id) == (3_000, 0, 0, 5_000)


def test_void_returns_the_reservation_and_a_later_capture_is_refused(dealer, code):
    redemption = _authorize(dealer, code, 3_000)

    voided = qr_redemption_void(redemption_id=redemption.pk)

    assert voided.status == QrRedemptionStatus.VOIDED
    assert account_balance(code.account_id) == (0, 0, 0, 5_000)
    with pytest.raises(ApplicationError) as refusal:
        qr_redemption_capture(redemption_id=redemption.pk, amount=1_000)
    assert refusal.value.code == "redemption_voided"


def test_refund_after_capture_is_a_new_transfer_back_to_the_code(dealer, code, django_capture_on_commit_callbacks):
    redemption = _authorize(dealer, code, 2_000)
    with django_capture_on_commit_callbacks(execute=True):
        qr_redemption_capture(redemption_id=redemption.pk, amount=2_000)

    refund = qr_redemption_refund(redemption_id=redemption.pk, user=dealer, amount=500)

    assert refund.amount == 500
    assert account_balance(code.account_id) == (0, 2_000, 0, 5_500)
    with pytest.raises(ApplicationError) as refusal:
        qr_redemption_refund(redemption_id=redemption.pk, user=dealer, amount=1_501)
    assert refusal.value.code == "refund_exceeds_capture"


def test_blocking_moves_the_available_balance_and_a_void_follows_to_the_new_code(dealer, customer, code):
    redemption = _authorize(dealer, code, 1_000)

    replacement = qr_code_block_and_replace(code_id=code.pk, owner=customer)

    code.refresh_from_db()
    assert (code.status, code.version, code.replaced_by_id) == (QrCodeStatus.BLOCKED, 2, replacement.pk)
    assert account_balance(replacement.account_id) == (0, 0, 0, 4_000)
    qr_redemption_void(redemption_id=redemption.pk)
    assert account_balance(replacement.account_id) == (0, 0, 0, 5_000)
    assert account_balance(code.account_id) == (0, 5_000, 0, 5_000)


def test_statements_show_purchase_spending_redemption_and_payout(
    dealer, customer, code, django_capture_on_commit_callbacks
):
    redemption = _authorize(dealer, code, 2_000)
    with django_capture_on_commit_callbacks(execute=True):
        qr_redemption_capture(redemption_id=redemption.pk, amount=2_000)

    mine = customer_statement(user=customer)
    theirs = dealer_statement(organisation=dealer.dealer_organisation)

    assert [(line.description, line.amount) for line in mine.lines] == [
        ("Purchase", Money(5_000, "EUR")),
        ("Payment at a dealer", Money(-2_000, "EUR")),
    ]
    assert mine.totals == {"EUR": Money(3_000, "EUR")}
    assert [(line.description, line.amount) for line in theirs.lines] == [
        ("Redemption captured", Money(2_000, "EUR")),
        ("Payout settled", Money(2_000, "EUR")),
    ]
    assert theirs.totals == {"EUR": Money(2_000, "EUR")}
