"""`payments_transfer_post` (one round trip on PostgreSQL) answers and books exactly as the batch path does.

Every single-phase or pending transfer between accounts of every shape (open, limited either way, closed, another
ledger, missing), of amounts that fit, exceed a balance or overflow, and resubmissions of stored transfers with one
field changed: the named result code, the balances, the transfers and the expiry rows after the call are the same
through the function as through `transfers_create`.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid

import pytest
from django.db import connection, transaction

from payments.ledger import client
from payments.ledger.services import account_closed_set, transfers_create
from payments.ledger.types import MAX_AMOUNT, AccountFlags, ResultCode, TransferFlags, TransferSpec
from payments.models import PendingTransferTimeout, Transfer
from payments.tests.ledger.conftest import ledger_snapshot, spec

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the function exists on PostgreSQL only"),
]


def _through_function(transfer: TransferSpec) -> tuple[ResultCode, dict[str, object], list[tuple]]:
    with transaction.atomic():
        code, _ = client._post_one(spec=transfer, then=())
        after = _state()
        transaction.set_rollback(True)
    return code, *after


def _through_batch(transfer: TransferSpec) -> tuple[ResultCode, dict[str, object], list[tuple]]:
    with transaction.atomic():
        (result,) = transfers_create(transfers=[transfer])
        after = _state()
        transaction.set_rollback(True)
    return result.code, *after


def _state() -> tuple[dict[str, object], list[tuple]]:
    transfers = list(
        Transfer.objects.order_by("id").values_list(
            "id", "debit_account_id", "credit_account_id", "amount", "ledger", "code", "flags", "pending_id",
            "timeout_seconds", "user_data",
        )
    )  # fmt: skip
    timeouts = list(PendingTransferTimeout.objects.order_by("transfer_id").values_list("transfer_id", flat=True))
    return ledger_snapshot(), transfers + [("timeout", transfer_id) for transfer_id in timeouts]


@pytest.fixture
def accounts(make_account):
    plain = make_account()
    debit_limited = make_account(flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    credit_limited = make_account(flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
    closed = make_account()
    other_ledger = make_account(ledger="USD")
    # Balances to check against: 500 on the limited debit side, 300 owed to the limited credit side.
    transfers_create(transfers=[spec(plain, debit_limited, 500), spec(credit_limited, plain, 300)])
    transfers_create(transfers=[spec(debit_limited, plain, 100, flags=TransferFlags.PENDING, timeout_seconds=60)])
    account_closed_set(account_id=closed.pk, is_closed=True)
    return [plain.pk, debit_limited.pk, credit_limited.pk, closed.pk, other_ledger.pk, 10**9]


def test_every_new_transfer_gets_the_same_answer_and_booking(accounts):
    amounts = [1, 400, 401, MAX_AMOUNT]
    flag_sets = [(TransferFlags.NONE, None), (TransferFlags.PENDING, None), (TransferFlags.PENDING, 30)]
    compared = 0
    for debit, credit, amount, (flags, timeout) in itertools.product(accounts, accounts, amounts, flag_sets):
        transfer = spec(debit, credit, amount, flags=flags, timeout_seconds=timeout, user_data="same")
        assert _through_function(transfer) == _through_batch(transfer), (debit, credit, amount, flags, timeout)
        compared += 1
    assert compared == 6 * 6 * 4 * 3


def test_a_resubmission_answers_exists_or_the_first_different_field(accounts):
    plain, debit_limited, credit_limited, *_ = accounts
    stored = spec(debit_limited, plain, 50, flags=TransferFlags.PENDING, timeout_seconds=60, user_data="first")
    assert transfers_create(transfers=[stored])[0].code is ResultCode.OK
    variants = {
        ResultCode.EXISTS: stored,
        ResultCode.EXISTS_WITH_DIFFERENT_FLAGS: dataclasses.replace(
            stored, flags=TransferFlags.NONE, timeout_seconds=None
        ),
        ResultCode.EXISTS_WITH_DIFFERENT_TIMEOUT: dataclasses.replace(stored, timeout_seconds=61),
        ResultCode.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID: dataclasses.replace(stored, debit_account_id=credit_limited),
        ResultCode.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID: dataclasses.replace(
            stored, credit_account_id=credit_limited
        ),
        ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT: dataclasses.replace(stored, amount=51),
        ResultCode.EXISTS_WITH_DIFFERENT_USER_DATA: dataclasses.replace(stored, user_data="second"),
        ResultCode.EXISTS_WITH_DIFFERENT_CODE: dataclasses.replace(stored, code=2),
    }
    for expected, variant in variants.items():
        through_function = _through_function(variant)
        assert through_function == _through_batch(variant)
        assert through_function[0] is expected


def test_a_transfer_refused_before_the_database_is_refused_alike(accounts):
    plain, debit_limited, *_ = accounts
    for transfer in [
        spec(plain, debit_limited, 0),
        spec(plain, plain, 1),
        spec(plain, debit_limited, 1, timeout_seconds=5),
        spec(plain, debit_limited, 1, transfer_id=uuid.UUID(int=0)),
        spec(plain, debit_limited, 1, user_data="x" * 65),
    ]:
        assert _through_function(transfer) == _through_batch(transfer)


def test_the_products_rows_are_written_only_when_the_transfer_is_booked(accounts):
    plain, debit_limited, *_ = accounts
    marker = ("SELECT %s::text", ["written"])

    assert client.transfer_post_with(spec=spec(debit_limited, plain, 10), then=[marker]) == ["written"]
    with pytest.raises(client.LedgerRefused) as refused:
        client.transfer_post_with(spec=spec(debit_limited, plain, 10**6), then=[("SELECT 1/0", [])])
    assert refused.value.ledger_code is ResultCode.EXCEEDS_CREDITS


def test_the_products_statements_reach_the_database_unchanged_whatever_their_text(accounts):
    plain, debit_limited, *_ = accounts
    texts = ['it\'s "quoted"', "back\\slash \\\\ and \\N", "{braces}, commas, NULL", "zwölf € ✓", "", "NULL"]
    statements = [("SELECT %s::text", [text]) for text in texts] + [("SELECT NULL::text", [])]

    answers = client.transfer_post_with(spec=spec(debit_limited, plain, 10), then=statements)

    assert answers == [*texts, None]
