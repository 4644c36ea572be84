"""Random sequences of ledger operations on PostgreSQL, checked after every step against a pure-Python model.

The model knows the rules independently of payments.ledger.engine: it predicts each result code and the exact four
sums of every account. Each example runs inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from payments.ledger.services import account_create, pending_transfers_expire, transfers_create
from payments.ledger.types import AccountFlags, ResultCode, TransferFlags, TransferSpec
from payments.models import Account, AccountCode, PendingTransferTimeout, Transfer

START = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)


@dataclasses.dataclass
class ModelAccount:
    id: int
    ledger: str
    debits_limited: bool
    credits_limited: bool
    sums: list[int] = dataclasses.field(default_factory=lambda: [0, 0, 0, 0])  # dp, dpo, cp, cpo


@dataclasses.dataclass
class ModelPending:
    id: uuid.UUID
    debit: int
    credit: int
    amount: int
    expires_at: datetime.datetime | None
    resolution: str | None = None


class LedgerMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")
    pendings = Bundle("pendings")
    transfers = Bundle("transfers")

    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.model: dict[int, ModelAccount] = {}
        self.pending_model: dict[uuid.UUID, ModelPending] = {}
        self.specs: dict[uuid.UUID, TransferSpec] = {}
        self.now = START

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- the model's rules ------------------------------------------------------------------------------------------
    def expected_new(self, debit: ModelAccount, credit: ModelAccount, amount: int, ledger: str) -> ResultCode:
        if debit.id == credit.id:
            return ResultCode.ACCOUNTS_MUST_BE_DIFFERENT
        if debit.ledger != credit.ledger:
            return ResultCode.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER
        if ledger != debit.ledger:
            return ResultCode.LEDGER_MISMATCH
        if debit.debits_limited and debit.sums[0] + debit.sums[1] + amount > debit.sums[3]:
            return ResultCode.EXCEEDS_CREDITS
        if credit.credits_limited and credit.sums[2] + credit.sums[3] + amount > credit.sums[1]:
            return ResultCode.EXCEEDS_DEBITS
        return ResultCode.OK

    def submit(self, specs: list[TransferSpec]) -> list[ResultCode]:
        return [result.code for result in transfers_create(transfers=specs, now=self.now)]

    # --- rules ------------------------------------------------------------------------------------------------------
    @initialize(target=accounts)
    def chart_of_accounts(self) -> object:
        """A bank, a funded customer that must not go negative, two merchants (one capped) and a USD account."""
        ids = [
            self.create_account(limit, ledger)
            for limit, ledger in [
                ("none", "EUR"),
                ("debits", "EUR"),
                ("none", "EUR"),
                ("credits", "EUR"),
                ("none", "USD"),
            ]
        ]
        funding = TransferSpec(uuid.uuid4(), ids[0], ids[1], 1_000, "EUR", 1)
        assert self.submit([funding]) == [ResultCode.OK]
        self.model[ids[0]].sums[1] += 1_000
        self.model[ids[1]].sums[3] += 1_000
        return multiple(*ids)

    @rule(
        target=accounts,
        limit=st.sampled_from(["none", "debits", "credits"]),
        ledger=st.sampled_from(["EUR", "EUR", "USD"]),
    )
    def create_account_rule(self, limit: str, ledger: str) -> int:
        return self.create_account(limit, ledger)

    def create_account(self, limit: str, ledger: str) -> int:
        flags = {
            "none": AccountFlags.NONE,
            "debits": AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            "credits": AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
        }[limit]
        account = account_create(ledger=ledger, code=AccountCode.CLEARING, owner_reference="test:1", flags=flags)
        self.model[account.pk] = ModelAccount(account.pk, ledger, limit == "debits", limit == "credits")
        return account.pk

    @rule(
        target=transfers,
        debit=accounts,
        credit=accounts,
        amount=st.integers(1, 400),
        wrong_ledger=st.booleans(),
    )
    def single(self, debit: int, credit: int, amount: int, wrong_ledger: bool) -> uuid.UUID:
        ledger = "GBP" if wrong_ledger else self.model[debit].ledger
        spec = TransferSpec(uuid.uuid4(), debit, credit, amount, ledger, 1)
        expected = self.expected_new(self.model[debit], self.model[credit], amount, ledger)
        assert self.submit([spec]) == [expected]
        if expected is ResultCode.OK:
            self.model[debit].sums[1] += amount
            self.model[credit].sums[3] += amount
            self.specs[spec.id] = spec
        return spec.id

    @rule(debit=accounts, credit=accounts)
    def overdraft(self, debit: int, credit: int) -> None:
        account = self.model[debit]
        if not account.debits_limited or debit == credit or account.ledger != self.model[credit].ledger:
            return
        available = account.sums[3] - account.sums[0] - account.sums[1]
        spec = TransferSpec(uuid.uuid4(), debit, credit, available + 1, account.ledger, 1)
        assert self.submit([spec]) == [ResultCode.EXCEEDS_CREDITS]

    @rule(
        target=pendings,
        debit=accounts,
        credit=accounts,
        amount=st.integers(1, 400),
        timeout=st.one_of(st.none(), st.integers(1, 30)),
    )
    def pending(self, debit: int, credit: int, amount: int, timeout: int | None) -> uuid.UUID:
        spec = TransferSpec(
            uuid.uuid4(),
            debit,
            credit,
            amount,
            self.model[debit].ledger,
            2,
            flags=TransferFlags.PENDING,
            timeout_seconds=timeout,
        )
        expected = self.expected_new(self.model[debit], self.model[credit], amount, spec.ledger)
        assert self.submit([spec]) == [expected]
        if expected is ResultCode.OK:
            self.model[debit].sums[0] += amount
            self.model[credit].sums[2] += amount
            expires_at = None if timeout is None else self.now + datetime.timedelta(seconds=timeout)
            self.pending_model[spec.id] = ModelPending(spec.id, debit, credit, amount, expires_at)
            self.specs[spec.id] = spec
        return spec.id

    def expected_resolution(self, pending: ModelPending, amount: int, is_void: bool) -> ResultCode:
        if amount > pending.amount:
            return ResultCode.EXCEEDS_PENDING_TRANSFER_AMOUNT
        if is_void and amount != pending.amount:
            return ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
        if pending.resolution == "posted":
            return ResultCode.PENDING_TRANSFER_ALREADY_POSTED
        if pending.resolution == "voided":
            return ResultCode.PENDING_TRANSFER_ALREADY_VOIDED
        if pending.expires_at is not None and pending.expires_at <= self.now:
            return ResultCode.PENDING_TRANSFER_EXPIRED
        return ResultCode.OK

    def release(self, pending: ModelPending, posted: int, resolution: str) -> None:
        pending.resolution = resolution
        self.model[pending.debit].sums[0] -= pending.amount
        self.model[pending.credit].sums[2] -= pending.amount
        self.model[pending.debit].sums[1] += posted
        self.model[pending.credit].sums[3] += posted

    @rule(pending_id=pendings, share=st.sampled_from([1.0, 0.5, 1.5]))
    def post(self, pending_id: uuid.UUID, share: float) -> None:
        pending = self.pending_model.get(pending_id)
        if pending is None:
            return
        amount = max(1, int(pending.amount * share))
        spec = TransferSpec(uuid.uuid4(), 0, 0, amount, "", 0, TransferFlags.POST_PENDING, pending_id)
        expected = self.expected_resolution(pending, amount, is_void=False)
        assert self.submit([spec]) == [expected]
        if expected is ResultCode.OK:
            self.release(pending, amount, "posted")

    @rule(pending_id=pendings)
    def void(self, pending_id: uuid.UUID) -> None:
        pending = self.pending_model.get(pending_id)
        if pending is None:
            return
        spec = TransferSpec(uuid.uuid4(), 0, 0, pending.amount, "", 0, TransferFlags.VOID_PENDING, pending_id)
        expected = self.expected_resolution(pending, pending.amount, is_void=True)
        assert self.submit([spec]) == [expected]
        if expected is ResultCode.OK:
            self.release(pending, 0, "voided")

    @rule(seconds=st.integers(1, 40))
    def clock_advance(self, seconds: int) -> None:
        """Time passes before the expiry task runs: posts and voids of overdue pending transfers are refused."""
        self.now += datetime.timedelta(seconds=seconds)

    @rule(seconds=st.integers(0, 40), run_twice=st.booleans())
    def clock_advance_and_expire(self, seconds: int, run_twice: bool) -> None:
        self.now += datetime.timedelta(seconds=seconds)
        due = [
            pending
            for pending in self.pending_model.values()
            if pending.resolution is None and pending.expires_at is not None and pending.expires_at <= self.now
        ]
        assert pending_transfers_expire(now=self.now) == len(due)
        if run_twice:
            assert pending_transfers_expire(now=self.now) == 0
        for pending in due:
            self.release(pending, 0, "voided")

    @rule(
        transfer_id=transfers,
        change=st.sampled_from(["same", "amount", "debit", "credit", "code", "ledger", "flags", "user_data"]),
    )
    def resubmit(self, transfer_id: uuid.UUID, change: str) -> None:
        original = self.specs.get(transfer_id)
        if original is None:
            return
        changes = {
            "same": ({}, ResultCode.EXISTS),
            "amount": ({"amount": original.amount + 1}, ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT),
            "debit": (
                {"debit_account_id": original.debit_account_id + 10_000},
                ResultCode.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID,
            ),
            "credit": (
                {"credit_account_id": original.credit_account_id + 10_000},
                ResultCode.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID,
            ),
            "code": ({"code": original.code + 1}, ResultCode.EXISTS_WITH_DIFFERENT_CODE),
            "ledger": ({"ledger": "CHF"}, ResultCode.EXISTS_WITH_DIFFERENT_LEDGER),
            "flags": ({"flags": TransferFlags.PENDING}, ResultCode.EXISTS_WITH_DIFFERENT_FLAGS),
            "user_data": ({"user_data": "other"}, ResultCode.EXISTS_WITH_DIFFERENT_USER_DATA),
        }
        fields, expected = changes[change]
        assert self.submit([dataclasses.replace(original, **fields)]) == [expected]

    @rule(legs=st.lists(st.tuples(accounts, accounts, st.integers(1, 600)), min_size=2, max_size=4))
    def linked_chain(self, legs: list[tuple[int, int, int]]) -> None:
        specs = [
            TransferSpec(
                uuid.uuid4(),
                debit,
                credit,
                amount,
                self.model[debit].ledger,
                3,
                TransferFlags.LINKED if index < len(legs) - 1 else TransferFlags.NONE,
            )
            for index, (debit, credit, amount) in enumerate(legs)
        ]
        saved = {account_id: list(account.sums) for account_id, account in self.model.items()}
        expected: list[ResultCode] = []
        for spec in specs:
            code = self.expected_new(
                self.model[spec.debit_account_id], self.model[spec.credit_account_id], spec.amount, spec.ledger
            )
            expected.append(code)
            if code is not ResultCode.OK:
                break
            self.model[spec.debit_account_id].sums[1] += spec.amount
            self.model[spec.credit_account_id].sums[3] += spec.amount
        if expected[-1] is not ResultCode.OK:
            failed, failed_code = len(expected) - 1, expected[-1]
            expected = [ResultCode.LINKED_EVENT_FAILED] * len(specs)
            expected[failed] = failed_code
            for account_id, sums in saved.items():
                self.model[account_id].sums = sums
        assert self.submit(specs) == expected

    @rule(pending_id=consumes(pendings))
    def forget_pending(self, pending_id: uuid.UUID) -> None:
        """Keeps the bundle small; the pending transfer stays in the model."""

    # --- invariants -------------------------------------------------------------------------------------------------
    @invariant()
    def balances_match_the_model(self) -> None:
        stored = {
            row[0]: list(row[1:])
            for row in Account.objects.filter(id__in=self.model).values_list(
                "id", "debits_pending", "debits_posted", "credits_pending", "credits_posted"
            )
        }
        assert stored == {account_id: account.sums for account_id, account in self.model.items()}

    @invariant()
    def debits_equal_credits_per_ledger(self) -> None:
        for row in (
            Account.objects.order_by()
            .values("ledger")
            .annotate(
                dp=Sum("debits_pending"), dpo=Sum("debits_posted"), cp=Sum("credits_pending"), cpo=Sum("credits_posted")
            )
        ):
            assert (row["dp"], row["dpo"]) == (row["cp"], row["cpo"])

    @invariant()
    def flags_hold(self) -> None:
        for account in Account.objects.filter(id__in=self.model):
            if account.debits_must_not_exceed_credits:
                assert account.debits_pending + account.debits_posted <= account.credits_posted
            if account.credits_must_not_exceed_debits:
                assert account.credits_pending + account.credits_posted <= account.debits_posted

    @invariant()
    def pending_resolved_at_most_once(self) -> None:
        assert (
            not Transfer.objects.filter(pending__isnull=False)
            .order_by()
            .values("pending")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        open_with_timeout = {
            pending.id
            for pending in self.pending_model.values()
            if pending.resolution is None and pending.expires_at is not None
        }
        assert set(PendingTransferTimeout.objects.values_list("transfer_id", flat=True)) == open_with_timeout


@pytest.mark.django_db
def test_ledger_follows_the_model_through_random_operations() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
