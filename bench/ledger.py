"""Benchmark of the ledger: transfers per second through `transfers_create`, and django-hordak side by side.

Run by `make bench` (bench/__main__.py) with `DJANGO_SETTINGS_MODULE=bench.settings` on a fresh, migrated PostgreSQL
database. Both ledgers write to the same database in the same run. Hordak's `Account.transfer_to` is timed one
transfer per transaction (how it is used); ours in batches of 8,000 specifications per call.
"""

from __future__ import annotations

import random
import time
import uuid
from importlib.metadata import version

from django.db import connection, transaction

from payments.ledger.registry import TransferCode
from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import MAX_BATCH_SIZE, AccountFlags, TransferFlags, TransferSpec
from payments.models import AccountCode

OURS_TRANSFERS = 80_000
HORDAK_TRANSFERS = 2_000
CUSTOMERS = 2_000
MERCHANTS = 200
TARGET_PER_SECOND = 5_000
TARGET_RATIO = 10


def run() -> str:
    """Measures both ledgers and returns the markdown section for docs/benchmarks.md."""
    ours_rate, ours_seconds, refused = _ours_measure()
    hordak_version = version("django-hordak")
    hordak_rate, hordak_seconds = _hordak_measure()
    ratio = ours_rate / hordak_rate
    rate_pass = "pass" if ours_rate >= TARGET_PER_SECOND else "FAIL"
    ratio_pass = "pass" if ratio >= TARGET_RATIO else "FAIL"
    return "\n".join(
        [
            "## Ledger: transfers through the service layer",
            "",
            f"PostgreSQL {connection.pg_version // 10000}, one process, `transfers_create` in batches of "
            f"{MAX_BATCH_SIZE:,} (mixed single-phase, pending and post transfers between {CUSTOMERS:,} customer "
            f"accounts that must not go negative and {MERCHANTS} merchant accounts).",
            "",
            "| measure | value | target | result |",
            "|---|---|---|---|",
            f"| our transfers created | {OURS_TRANSFERS:,} in {ours_seconds:.2f} s ({refused:,} refused by "
            "`exceeds_credits`) | | |",
            f"| our throughput | {ours_rate:,.0f} transfers/s | >= {TARGET_PER_SECOND:,}/s | {rate_pass} |",
            f"| django-hordak {hordak_version} `Account.transfer_to` | {HORDAK_TRANSFERS:,} in "
            f"{hordak_seconds:.2f} s = {hordak_rate:,.0f} transfers/s | baseline | |",
            f"| ratio ours / hordak | {ratio:.1f}x | >= {TARGET_RATIO}x | {ratio_pass} |",
            "",
        ]
    )


def _ours_measure() -> tuple[float, float, int]:
    """Returns (transfers per second, seconds, refused count) over OURS_TRANSFERS specs in full batches."""
    rng = random.Random(20251122)
    bank = account_create(ledger="EUR", code=AccountCode.BANK, owner_reference="bench:bank")
    customers = [
        account_create(
            ledger="EUR",
            code=AccountCode.CUSTOMER_PREPAID,
            owner_reference=f"bench:customer{index}",
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        ).pk
        for index in range(CUSTOMERS)
    ]
    merchants = [
        account_create(ledger="EUR", code=AccountCode.MERCHANT_PAYABLE, owner_reference=f"bench:merchant{index}").pk
        for index in range(MERCHANTS)
    ]
    funding = [_spec(debit=bank.pk, credit=customer, amount=1_000_000) for customer in customers]
    transfers_create(transfers=funding)
    batches = [
        _batch(rng=rng, customers=customers, merchants=merchants) for _ in range(OURS_TRANSFERS // MAX_BATCH_SIZE)
    ]
    refused = 0
    started = time.perf_counter()
    for batch in batches:
        results = transfers_create(transfers=batch)
        refused += sum(1 for result in results if not result.is_ok)
    seconds = time.perf_counter() - started
    return OURS_TRANSFERS / seconds, seconds, refused


def _batch(*, rng: random.Random, customers: list[int], merchants: list[int]) -> list[TransferSpec]:
    """8,000 specs: three in four single-phase, the rest pending transfers each posted later in the same batch."""
    specs: list[TransferSpec] = []
    while len(specs) < MAX_BATCH_SIZE:
        debit, credit, amount = rng.choice(customers), rng.choice(merchants), rng.randint(1, 5_000)
        if rng.random() < 0.75 or len(specs) > MAX_BATCH_SIZE - 2:
            specs.append(_spec(debit=debit, credit=credit, amount=amount))
            continue
        pending = _spec(debit=debit, credit=credit, amount=amount, flags=TransferFlags.PENDING)
        specs.append(pending)
        specs.append(
            TransferSpec(
                id=uuid.uuid4(),
                debit_account_id=0,
                credit_account_id=0,
                amount=amount,
                ledger="EUR",
                code=0,
                flags=TransferFlags.POST_PENDING,
                pending_id=pending.id,
            )
        )
    return specs


def _spec(*, debit: int, credit: int, amount: int, flags: TransferFlags = TransferFlags.NONE) -> TransferSpec:
    return TransferSpec(
        id=uuid.uuid4(),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        ledger="EUR",
        code=TransferCode.QR_PURCHASE,
        flags=flags,
    )


def _hordak_measure() -> tuple[float, float]:
    """Returns (transfers per second, seconds) for HORDAK_TRANSFERS `transfer_to` calls, one transaction each."""
    from djmoney.money import Money
    from hordak.models import Account as HordakAccount

    cash = HordakAccount.objects.create(name="Cash", type=HordakAccount.TYPES.asset, currencies=["EUR"])
    income = HordakAccount.objects.create(name="Sales", type=HordakAccount.TYPES.income, currencies=["EUR"])
    started = time.perf_counter()
    for index in range(HORDAK_TRANSFERS):
        with transaction.atomic():
            income.transfer_to(cash, Money(1 + index % 50, "EUR"), description="bench")
    seconds = time.perf_counter() - started
    return HORDAK_TRANSFERS / seconds, seconds
