"""Authorizations on a code that gets blocked: expiry, void and capture all leave the money on the live code.

What an issuer does: blocking stops new authorizations but honours the ones already given (the dealer may still
capture or void them); whatever an authorization releases afterwards (a void, the uncaptured rest of a capture, or
the expiry) follows the blocked code to its replacement, and an expired authorization can no longer be captured.
"""

from __future__ import annotations

import datetime
import json
import uuid
from unittest import mock

import pytest
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from payments.ledger import Owner, Purpose, account_get_or_open
from payments.ledger.services import pending_transfers_expire
from payments.models import Account, QrCode, QrCodeStatus, QrRedemption, QrRedemptionStatus
from payments.qr.redemptions import RedemptionRequest, qr_authorizations_expire, qr_redemption_authorize
from payments.qr.selectors import qr_code_view
from payments.qr.services import qr_code_block_and_replace
from payments.tests.qr.factories import account_balance, database_snapshot, paid_code_create
from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db
API = "/api/payments/qr-redemptions"


def _authorize(client, code: QrCode, amount: int) -> dict:
    response = client.post(
        API,
        data=json.dumps({"token": qr_code_view(code=code).token, "amount": amount, "currency": "EUR"}),
        content_type="application/json",
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.content
    return response.json()


def _block(client, code: QrCode) -> QrCode:
    response = client.post(f"/payments/qr/codes/{code.public_id}/block/", {"confirmed": "yes"})
    assert response.status_code == 302
    code.refresh_from_db()
    assert code.status == QrCodeStatus.BLOCKED
    return code.replaced_by


def _ledger_is_balanced() -> bool:
    sums = Account.objects.aggregate(
        dp=Sum("debits_posted"), cp=Sum("credits_posted"), dpe=Sum("debits_pending"), cpe=Sum("credits_pending")
    )
    return sums["dp"] == sums["cp"] and sums["dpe"] == sums["cpe"]


def _after_the_timeout() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=settings.PAYMENTS_QR_AUTHORIZATION_TIMEOUT_SECONDS + 1)


def _beat_runs_expiry(now: datetime.datetime) -> None:
    """The beat entry's task, run as a worker would, with the clock moved past the authorization's timeout."""
    entry = settings.CELERY_BEAT_SCHEDULE["payments.pending_transfers_expire"]
    celery_app.loader.import_default_modules()
    with mock.patch("django.utils.timezone.now", return_value=now):
        celery_app.tasks[entry["task"]].apply().get()


def test_an_expired_authorization_on_a_blocked_code_returns_its_money_to_the_replacement(customer, dealer, client_for):
    """The hole: 30.00 of a 40.00 code authorised, the code blocked (10.00 moves on), the authorization expires.
    The 30.00 used to fall back onto the dead code with the redemption still "authorized"."""
    code = paid_code_create(owner=customer, amount=4_000)
    dealer_client, customer_client = client_for(dealer), client_for(customer)
    redemption = _authorize(dealer_client, code, 3_000)
    replacement = _block(customer_client, code)
    assert account_balance(replacement.account_id) == (0, 0, 0, 1_000)

    _beat_runs_expiry(_after_the_timeout())

    detail = dealer_client.get(f"{API}/{redemption['id']}").json()
    assert (detail["status"], detail["captured_amount"]) == ("expired", 0)
    assert account_balance(replacement.account_id) == (0, 0, 0, 4_000)
    assert account_balance(code.account_id) == (0, 4_000, 0, 4_000)
    clearing = account_get_or_open(
        ledger="EUR", purpose=Purpose.QR_DEALER_CLEARING, owner=Owner.dealer(dealer.dealer_organisation_id)
    )
    assert account_balance(clearing.pk) == (0, 0, 0, 0)
    assert _ledger_is_balanced()
    page = customer_client.get(f"/payments/qr/codes/{replacement.public_id}/").content.decode()
    assert "€40.00" in page
    dealer_page = dealer_client.get(f"/payments/qr/dealer/redemptions/{redemption['id']}/").content.decode()
    assert 'data-testid="redemption-status">Expired<' in dealer_page
    assert "/capture/" not in dealer_page  # nothing left to capture

    # The dealer can neither capture nor void the expired authorization, and a second expiry run changes nothing.
    before = database_snapshot()
    for action, body in (("capture", {"amount": 3_000}), ("void", {})):
        response = dealer_client.post(
            f"{API}/{redemption['id']}/{action}",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert (response.status_code, response.json()["code"]) == (409, "authorization_expired")
    _beat_runs_expiry(_after_the_timeout())
    assert database_snapshot() == before


def test_a_void_after_the_block_sends_the_authorized_amount_to_the_replacement(customer, dealer, client_for):
    code = paid_code_create(owner=customer, amount=4_000)
    dealer_client = client_for(dealer)
    redemption = _authorize(dealer_client, code, 3_000)
    replacement = _block(client_for(customer), code)

    response = dealer_client.post(f"{API}/{redemption['id']}/void", headers={"Idempotency-Key": uuid.uuid4().hex})

    assert (response.status_code, response.json()["status"]) == (200, "voided")
    assert account_balance(replacement.account_id) == (0, 0, 0, 4_000)
    assert account_balance(code.account_id) == (0, 4_000, 0, 4_000)
    assert _ledger_is_balanced()


def test_a_capture_after_the_block_is_honoured_and_the_rest_goes_to_the_replacement(customer, dealer, client_for):
    """The authorization was given before the block, so the issuer honours it; only the uncaptured rest is freed."""
    code = paid_code_create(owner=customer, amount=4_000)
    dealer_client = client_for(dealer)
    redemption = _authorize(dealer_client, code, 3_000)
    replacement = _block(client_for(customer), code)

    response = dealer_client.post(
        f"{API}/{redemption['id']}/capture",
        data=json.dumps({"amount": 2_500}),
        content_type="application/json",
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )

    assert (response.status_code, response.json()["status"]) == (200, "captured")
    assert account_balance(replacement.account_id) == (0, 0, 0, 1_500)
    assert account_balance(code.account_id) == (0, 4_000, 0, 4_000)
    clearing = account_get_or_open(
        ledger="EUR", purpose=Purpose.QR_DEALER_CLEARING, owner=Owner.dealer(dealer.dealer_organisation_id)
    )
    assert account_balance(clearing.pk) == (2_500, 0, 0, 2_500)  # settlement to the dealer is pending
    assert _ledger_is_balanced()


def test_an_authorization_the_ledger_expired_first_is_still_closed_and_its_money_moved_on(customer, dealer):
    """If the ledger's generic expiry voided a QR authorization before the QR pass saw it (an older worker, a
    failed run), the next QR pass marks it expired and moves the money; the void is the same transfer."""
    code = paid_code_create(owner=customer, amount=4_000)
    redemption = qr_redemption_authorize(
        user=dealer,
        request=RedemptionRequest(
            token=qr_code_view(code=code).token, amount=3_000, currency="EUR", idempotency_key="k"
        ),
    )
    replacement = qr_code_block_and_replace(code_id=code.pk, owner=customer)
    later = _after_the_timeout()

    assert pending_transfers_expire(now=later) == 1
    assert account_balance(code.account_id) == (0, 1_000, 0, 4_000)  # stranded until the QR pass
    assert qr_authorizations_expire(now=later) == 1
    assert qr_authorizations_expire(now=later) == 0

    redemption.refresh_from_db()
    assert redemption.status == QrRedemptionStatus.EXPIRED
    assert account_balance(replacement.account_id) == (0, 0, 0, 4_000)
    assert _ledger_is_balanced()


def test_an_authorization_not_yet_due_is_left_alone(customer, dealer, client_for):
    code = paid_code_create(owner=customer, amount=4_000)
    redemption = _authorize(client_for(dealer), code, 3_000)
    before = database_snapshot()

    assert qr_authorizations_expire(now=timezone.now()) == 0

    assert database_snapshot() == before
    assert QrRedemption.objects.get(public_id=redemption["id"]).status == QrRedemptionStatus.AUTHORIZED
