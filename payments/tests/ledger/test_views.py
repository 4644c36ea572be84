"""Back-office ledger pages: authorization matrix and what each page shows."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from payments.ledger.services import transfers_create
from payments.models import AccountCode
from payments.tests.ledger.conftest import spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(make_account):
    bank = make_account(code=AccountCode.BANK)
    merchant = make_account(code=AccountCode.MERCHANT_PAYABLE)
    assert transfers_create(transfers=[spec(bank, merchant, 1_234, user_data="invoice:9")])[0].is_ok
    return bank, merchant


def pages(account_id: int) -> list[str]:
    return [
        reverse("payments:ledger-account-list"),
        reverse("payments:ledger-account-statement", args=[account_id]),
        reverse("payments:ledger-transfer-search"),
        reverse("payments:ledger-reconciliation"),
    ]


def test_authorization_matrix(pair, customer, dealer, back_office, client_for) -> None:
    for url in pages(pair[0].pk):
        anonymous = Client().get(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"] == f"{reverse('accounts:login')}?next={url}"
        assert client_for(customer).get(url).status_code == 403
        assert client_for(dealer).get(url).status_code == 403
        assert client_for(back_office).get(url).status_code == 200


def test_statement_shows_running_balance(pair, back_office, client_for) -> None:
    _bank, merchant = pair
    response = client_for(back_office).get(reverse("payments:ledger-account-statement", args=[merchant.pk]))
    assert response.context["entries"][0].balance_posted == 1_234
    assert "invoice:9" in response.content.decode()
    assert client_for(back_office).get(reverse("payments:ledger-account-statement", args=[10**9])).status_code == 404


def test_transfer_search_filters(pair, back_office, client_for) -> None:
    _bank, merchant = pair
    client = client_for(back_office)
    found = client.get(reverse("payments:ledger-transfer-search"), {"account_id": merchant.pk})
    assert [transfer.amount for transfer in found.context["page"]] == [1_234]
    none = client.get(reverse("payments:ledger-transfer-search"), {"code": 99})
    assert list(none.context["page"]) == []
    invalid = client.get(reverse("payments:ledger-transfer-search"), {"transfer_id": "nope"})
    assert invalid.context["page"] is None
    assert invalid.context["form"].errors["transfer_id"]


def test_reconciliation_page_reports_balanced_ledgers(pair, back_office, client_for) -> None:
    response = client_for(back_office).get(reverse("payments:ledger-reconciliation"))
    assert [
        (row.ledger, row.debits_posted, row.credits_posted, row.is_balanced) for row in response.context["ledgers"]
    ] == [("EUR", 1_234, 1_234, True)]
    assert 'data-testid="balanced-EUR">balanced<' in response.content.decode()


def test_reconciliation_page_shows_the_outbox_and_settlement_backlog(client_for, back_office):
    import uuid

    from django.db import transaction

    from payments.ledger.services import account_create, transfers_create
    from payments.ledger.types import TransferFlags, TransferSpec
    from payments.models import AccountCode
    from payments.settlement.services import settlement_request

    bank = account_create(ledger="EUR", code=AccountCode.BANK, owner_reference="bank:1")
    payable = account_create(ledger="EUR", code=AccountCode.MERCHANT_PAYABLE, owner_reference="dealer:1")
    pending_id = uuid.uuid4()
    with transaction.atomic():
        spec = TransferSpec(
            id=pending_id,
            debit_account_id=bank.pk,
            credit_account_id=payable.pk,
            amount=2500,
            ledger="EUR",
            code=2,
            flags=TransferFlags.PENDING,
        )
        transfers_create(transfers=[spec])
        settlement_request(pending_transfer_id=pending_id)

    response = client_for(back_office).get("/payments/ledger/reconciliation/")

    html = response.content.decode()
    assert response.context["backlog"].items_due == 1
    assert 'data-testid="items-due">1<' in html
    assert 'Due in EUR</th><td class="amount">€25.00<' in html


def test_reconciliation_page_counts_dead_outbox_messages(client_for, back_office):
    from django.utils import timezone

    from core.models import OutboxMessage, OutboxState

    now = timezone.now()
    OutboxMessage.objects.create(
        topic="credit_checks.credit_check_webhook", key="event:1", state=OutboxState.DEAD, attempts=10, enqueued_at=now
    )
    OutboxMessage.objects.create(topic="credit_checks.credit_check_webhook", key="event:2", state=OutboxState.PENDING)

    html = client_for(back_office).get("/payments/ledger/reconciliation/").content.decode()

    assert 'data-testid="outbox-dead">1<' in html
    assert 'data-testid="outbox-pending">1<' in html
