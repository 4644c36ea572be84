"""Ledger fixtures for settlement tests, built through the ledger's services like production code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import AccountFlags, ResultCode, TransferFlags, TransferSpec
from payments.models import Account, AccountCode, Transfer
from payments.settlement.services import settlement_request_many

REDEMPTION_CODE = 2
FUNDING_CODE = 9


@dataclass(frozen=True)
class SettlementLedger:
    """A bank account that funds customers, customers' prepaid accounts and one merchant payable account (EUR)."""

    bank_id: int
    merchant_id: int
    customer_ids: tuple[int, ...]


def settlement_ledger_create(*, customers: int = 3, funding_per_customer: int = 10_000_000) -> SettlementLedger:
    """Creates the accounts and funds every customer with `funding_per_customer` minor units."""
    bank = account_create(ledger="EUR", code=AccountCode.BANK, owner_reference="bank:main", flags=AccountFlags.NONE)
    merchant = account_create(
        ledger="EUR", code=AccountCode.MERCHANT_PAYABLE, owner_reference="dealer:1", flags=AccountFlags.NONE
    )
    customer_accounts = [
        account_create(
            ledger="EUR",
            code=AccountCode.CUSTOMER_PREPAID,
            owner_reference=f"user:{n}",
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )
        for n in range(customers)
    ]
    funding = [
        TransferSpec(
            id=uuid.uuid4(),
            debit_account_id=bank.pk,
            credit_account_id=account.pk,
            amount=funding_per_customer,
            ledger="EUR",
            code=FUNDING_CODE,
        )
        for account in customer_accounts
    ]
    assert [result.code for result in transfers_create(transfers=funding)] == [ResultCode.OK] * customers
    return SettlementLedger(
        bank_id=bank.pk, merchant_id=merchant.pk, customer_ids=tuple(account.pk for account in customer_accounts)
    )


def pending_amount(index: int) -> int:
    """Amount of the index-th redemption in minor units: varied, so a wrong pairing changes the totals."""
    return 100 + index % 97


def redemptions_create(
    *, ledger: SettlementLedger, count: int, per_transaction: int = 500, start: int = 0
) -> list[uuid.UUID]:
    """Creates `count` pending redemptions (customer -> merchant) and their settlement requests, `per_transaction`
    per database transaction, as a redemption service would; returns the pending ids in creation order."""
    pending_ids: list[uuid.UUID] = []
    for first in range(start, start + count, per_transaction):
        specs = [
            TransferSpec(
                id=uuid.uuid4(),
                debit_account_id=ledger.customer_ids[index % len(ledger.customer_ids)],
                credit_account_id=ledger.merchant_id,
                amount=pending_amount(index),
                ledger="EUR",
                code=REDEMPTION_CODE,
                flags=TransferFlags.PENDING,
                user_data=f"qr-redemption:{index}",
            )
            for index in range(first, min(first + per_transaction, start + count))
        ]
        with transaction.atomic():
            for chunk in range(0, len(specs), 4000):
                results = transfers_create(transfers=specs[chunk : chunk + 4000])
                assert {result.code for result in results} == {ResultCode.OK}
            settlement_request_many(pending_transfer_ids=[spec.id for spec in specs])
        pending_ids.extend(spec.id for spec in specs)
    return pending_ids


def expected_total(*, start: int, count: int) -> int:
    return sum(pending_amount(index) for index in range(start, start + count))


def assert_posted_exactly_once(*, ledger: SettlementLedger, pending_ids: list[uuid.UUID], total: int) -> None:
    """Every pending transfer has exactly one post, of its full amount, and the balances are exact."""
    posts = Transfer.objects.filter(flags=int(TransferFlags.POST_PENDING), pending_id__in=pending_ids)
    assert posts.count() == len(pending_ids)
    assert posts.values("pending_id").distinct().count() == len(pending_ids)
    assert Transfer.objects.filter(flags=int(TransferFlags.POST_PENDING)).count() == len(pending_ids)
    merchant = Account.objects.get(pk=ledger.merchant_id)
    assert (merchant.credits_posted, merchant.credits_pending) == (total, 0)
    customers = Account.objects.filter(pk__in=ledger.customer_ids)
    assert sum(account.debits_posted for account in customers) == total
    assert sum(account.debits_pending for account in customers) == 0


def settlement_batch_closed_create(*, amount: int = 1500) -> int:
    """One pending transfer of `amount` minor units requested and settled; returns the closed batch's id."""
    from django.db import transaction

    from payments.ledger.services import account_create, transfers_create
    from payments.ledger.types import TransferFlags, TransferSpec
    from payments.models import AccountCode, SettlementBatch
    from payments.settlement.services import settlement_batch_run, settlement_request

    bank = account_create(ledger="EUR", code=AccountCode.BANK, owner_reference="bank:1")
    payable = account_create(ledger="EUR", code=AccountCode.MERCHANT_PAYABLE, owner_reference="dealer:1")
    pending_id = uuid.uuid4()
    with transaction.atomic():
        spec = TransferSpec(
            id=pending_id,
            debit_account_id=bank.pk,
            credit_account_id=payable.pk,
            amount=amount,
            ledger="EUR",
            code=2,
            flags=TransferFlags.PENDING,
        )
        transfers_create(transfers=[spec])
        message = settlement_request(pending_transfer_id=pending_id)
    settlement_batch_run(outbox_message_id=message.pk)
    settlement_batch_run(outbox_message_id=message.pk)
    return SettlementBatch.objects.get(state="closed").pk
