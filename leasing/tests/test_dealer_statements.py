"""A dealer paid both through QR codes and by the lease book sees each in its own statement; the totals add up."""

from __future__ import annotations

import pytest

from conftest import login_client
from core.money import Money
from leasing.selectors import dealer_lease_payout_statement
from leasing.tests import factories
from payments.ledger import Owner, Purpose, TransferCode, account_find
from payments.qr.redemptions import RedemptionRequest, qr_redemption_authorize, qr_redemption_capture
from payments.qr.selectors import qr_code_view
from payments.qr.statements import dealer_statement
from payments.tests.qr.factories import paid_code_create, product_create

pytestmark = pytest.mark.django_db


def _qr_redemption_captured(*, dealer, customer, amount: int, capture_callbacks) -> None:
    code = paid_code_create(owner=customer, amount=5_000, product=product_create())
    token = qr_code_view(code=code).token
    request = RedemptionRequest(token=token, amount=amount, currency="EUR", idempotency_key=f"key-{code.pk}")
    redemption = qr_redemption_authorize(user=dealer, request=request)
    with capture_callbacks(execute=True):  # the settlement batch pays the capture out after commit
        qr_redemption_capture(redemption_id=redemption.pk, amount=amount)


def test_qr_redemptions_and_lease_payouts_are_apart_and_add_up(
    dealer, dealer_organisation, customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    _qr_redemption_captured(
        dealer=dealer, customer=customer, amount=2_000, capture_callbacks=django_capture_on_commit_callbacks
    )
    contract = factories.contract_active(
        customer=customer, back_office=back_office, product=loan_product, dealer_organisation=dealer_organisation
    )

    qr = dealer_statement(organisation=dealer_organisation)
    lease = dealer_lease_payout_statement(organisation_id=dealer_organisation.pk)

    assert [(line.description, line.amount, line.in_total) for line in qr.lines] == [
        ("Redemption captured", Money(2_000, "EUR"), False),
        ("Payout settled", Money(2_000, "EUR"), True),
    ]
    assert qr.totals == {"EUR": Money(2_000, "EUR")}
    assert [(line.description, line.amount) for line in lease.lines] == [
        ("Payout for a leased vehicle", Money(contract.financed_amount, "EUR"))
    ]
    assert lease.totals == {"EUR": Money(27_000_00, "EUR")}
    # Together they are everything credited to the dealer's payable accounts, each counted once.
    payables = [
        account_find(ledger="EUR", purpose=purpose, owner=Owner.dealer(dealer_organisation.pk))
        for purpose in (Purpose.QR_DEALER_PAYABLE, Purpose.LEASE_DEALER_PAYABLE)
    ]
    credited = sum(account.credits_posted - account.debits_posted for account in payables)
    assert qr.totals["EUR"] + lease.totals["EUR"] == Money(credited, "EUR") == Money(27_000_00 + 2_000, "EUR")
    assert list(payables[1].credit_transfers.values_list("code", flat=True)) == [TransferCode.LEASE_DEALER_PAYOUT]


def test_each_page_shows_its_own_total(
    dealer, dealer_organisation, customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    _qr_redemption_captured(
        dealer=dealer, customer=customer, amount=2_000, capture_callbacks=django_capture_on_commit_callbacks
    )
    factories.contract_active(
        customer=customer, back_office=back_office, product=loan_product, dealer_organisation=dealer_organisation
    )
    client = login_client(dealer)

    qr_page = client.get("/payments/qr/dealer/statement/")
    lease_page = client.get("/leasing/dealer/payouts/")

    assert (qr_page.status_code, lease_page.status_code) == (200, 200)
    qr_total = f'<strong data-testid="statement-total-EUR">{Money(2_000, "EUR")}</strong>'
    lease_total = f'<strong data-testid="statement-total-EUR">{Money(27_000_00, "EUR")}</strong>'
    assert qr_total in qr_page.content.decode() and lease_total not in qr_page.content.decode()
    assert lease_total in lease_page.content.decode() and qr_total not in lease_page.content.decode()


def test_a_dealer_without_lease_payouts_has_an_empty_lease_statement(dealer_organisation):
    statement = dealer_lease_payout_statement(organisation_id=dealer_organisation.pk)

    assert (statement.lines, statement.totals) == ((), {})
