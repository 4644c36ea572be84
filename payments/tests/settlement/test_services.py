"""Settlement services in one process (Celery eager): requests, batches, idempotency, refusals."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from core.errors import ValidationFailed
from payments.ledger.services import transfers_create
from payments.ledger.types import ResultCode, TransferFlags, TransferSpec
from payments.models import (
    OutboxMessage,
    OutboxState,
    SettlementBatch,
    SettlementBatchState,
    SettlementItem,
    SettlementItemState,
    Transfer,
)
from payments.settlement import services
from payments.tests.settlement.helpers import (
    assert_posted_exactly_once,
    expected_total,
    pending_amount,
    redemptions_create,
    settlement_ledger_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger():
    return settlement_ledger_create()


def _message() -> OutboxMessage:
    return OutboxMessage.objects.get(topic=services.SETTLEMENT_TOPIC)


def test_requests_are_settled_after_commit_in_one_batch(ledger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        pending_ids = redemptions_create(ledger=ledger, count=7, per_transaction=7)
    assert SettlementItem.objects.filter(state=SettlementItemState.REQUESTED).count() == 7
    assert Transfer.objects.filter(flags=int(TransferFlags.POST_PENDING)).count() == 0
    assert len(callbacks) == 1

    callbacks[0]()

    assert_posted_exactly_once(ledger=ledger, pending_ids=pending_ids, total=expected_total(start=0, count=7))
    batch = SettlementBatch.objects.get()
    assert (batch.state, batch.item_count, batch.settled_count, batch.rejected_count) == ("closed", 7, 7, 0)
    assert batch.totals == {"EUR": expected_total(start=0, count=7)}
    entries = [
        (services.settlement_post_transfer_id(pending_transfer_id=p), pending_amount(i))
        for i, p in enumerate(pending_ids)
    ]
    assert batch.leaf_hash == services.settlement_batch_hash(entries=entries)
    message = _message()
    assert (message.state, message.attempts) == (OutboxState.DONE, 1)
    post = Transfer.objects.get(pending_id=pending_ids[0])
    assert post.id == services.settlement_post_transfer_id(pending_transfer_id=pending_ids[0])
    assert post.user_data == f"settlement-batch:{batch.pk}"


def test_a_batch_takes_at_most_batch_size_items_and_the_run_continues(ledger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        pending_ids = redemptions_create(ledger=ledger, count=10, per_transaction=10)

    result = services.settlement_batch_run(outbox_message_id=_message().pk, batch_size=4)

    assert result == services.SettlementRunResult(batches_closed=3, items_settled=10, items_rejected=0)
    assert list(SettlementBatch.objects.order_by("id").values_list("item_count", flat=True)) == [4, 4, 2]
    assert_posted_exactly_once(ledger=ledger, pending_ids=pending_ids, total=expected_total(start=0, count=10))


def test_a_task_delivered_twice_posts_once(ledger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pending_ids = redemptions_create(ledger=ledger, count=5, per_transaction=5)
    from payments.tasks import settlement_batch_run

    settlement_batch_run.apply(kwargs={"outbox_message_id": _message().pk})
    OutboxMessage.objects.update(state=OutboxState.ENQUEUED)  # as if the acknowledgement had been lost
    settlement_batch_run.apply(kwargs={"outbox_message_id": _message().pk})

    assert_posted_exactly_once(ledger=ledger, pending_ids=pending_ids, total=expected_total(start=0, count=5))
    assert SettlementBatch.objects.count() == 1
    assert _message().state == OutboxState.DONE


def test_a_batch_left_open_by_a_dead_worker_is_posted_by_the_next_run(ledger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        pending_ids = redemptions_create(ledger=ledger, count=6, per_transaction=6)
    batch_id, claimed = services.settlement_batch_claim(batch_size=100, outbox_message_id=_message().pk)
    assert claimed == 6
    assert SettlementBatch.objects.get().state == SettlementBatchState.OPEN

    result = services.settlement_batch_run(outbox_message_id=_message().pk)

    assert result == services.SettlementRunResult(batches_closed=1, items_settled=6, items_rejected=0)
    assert SettlementBatch.objects.get(pk=batch_id).state == SettlementBatchState.CLOSED
    assert_posted_exactly_once(ledger=ledger, pending_ids=pending_ids, total=expected_total(start=0, count=6))


def test_a_post_that_already_exists_is_counted_as_settled_not_posted_again(ledger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        pending_ids = redemptions_create(ledger=ledger, count=3, per_transaction=3)
    batch_id, _ = services.settlement_batch_claim(batch_size=100, outbox_message_id=None)
    pending = Transfer.objects.get(pk=pending_ids[1])
    first_post = TransferSpec(
        id=services.settlement_post_transfer_id(pending_transfer_id=pending.pk),
        debit_account_id=pending.debit_account_id,
        credit_account_id=pending.credit_account_id,
        amount=pending.amount,
        ledger="EUR",
        code=pending.code,
        flags=TransferFlags.POST_PENDING,
        pending_id=pending.pk,
        user_data=f"settlement-batch:{batch_id}",
    )
    assert transfers_create(transfers=[first_post])[0].code == ResultCode.OK

    result = services.settlement_batch_post(batch_id=batch_id)

    assert result == services.SettlementRunResult(batches_closed=1, items_settled=3, items_rejected=0)
    assert SettlementItem.objects.get(pending_transfer_id=pending_ids[1]).result_code == "exists"
    assert_posted_exactly_once(ledger=ledger, pending_ids=pending_ids, total=expected_total(start=0, count=3))


def test_a_voided_pending_transfer_is_rejected_and_left_out_of_the_totals(ledger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        pending_ids = redemptions_create(ledger=ledger, count=3, per_transaction=3)
    voided = Transfer.objects.get(pk=pending_ids[0])
    void = TransferSpec(
        id=uuid.uuid4(),
        debit_account_id=voided.debit_account_id,
        credit_account_id=voided.credit_account_id,
        amount=voided.amount,
        ledger="EUR",
        code=voided.code,
        flags=TransferFlags.VOID_PENDING,
        pending_id=voided.pk,
    )
    assert transfers_create(transfers=[void])[0].code == ResultCode.OK

    services.settlement_batch_run(outbox_message_id=_message().pk)

    item = SettlementItem.objects.get(pending_transfer_id=pending_ids[0])
    assert (item.state, item.result_code, item.settled_at) == ("rejected", "pending_transfer_already_voided", None)
    batch = SettlementBatch.objects.get()
    assert (batch.item_count, batch.settled_count, batch.rejected_count) == (3, 2, 1)
    assert batch.totals == {"EUR": pending_amount(1) + pending_amount(2)}
    assert Transfer.objects.filter(flags=int(TransferFlags.POST_PENDING)).count() == 2


def test_requesting_the_same_transfers_again_changes_nothing(ledger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        pending_ids = redemptions_create(ledger=ledger, count=2, per_transaction=2)
        again = services.settlement_request_many(pending_transfer_ids=list(reversed(pending_ids)))

    assert again == _message()
    assert SettlementItem.objects.count() == 2
    assert OutboxMessage.objects.count() == 1
    assert len(callbacks) == 1


def test_a_transfer_that_is_not_pending_cannot_be_requested(ledger):
    plain = TransferSpec(
        id=uuid.uuid4(),
        debit_account_id=ledger.customer_ids[0],
        credit_account_id=ledger.merchant_id,
        amount=500,
        ledger="EUR",
        code=1,
    )
    assert transfers_create(transfers=[plain])[0].code == ResultCode.OK

    for named in ([plain.id], [uuid.uuid4()], []):
        with pytest.raises(ValidationFailed) as refused:
            services.settlement_request_many(pending_transfer_ids=named)
        assert refused.value.code == "pending_transfer_not_found"

    assert SettlementItem.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_the_batch_hash_is_sha256_over_the_sorted_canonical_lines():
    first, second = uuid.UUID(int=2), uuid.UUID(int=1)
    expected = hashlib.sha256(f"{second}:250\n{first}:100\n".encode()).hexdigest()

    assert services.settlement_batch_hash(entries=[(first, 100), (second, 250)]) == expected
    assert services.settlement_batch_hash(entries=[]) == hashlib.sha256(b"").hexdigest()
    assert services.settlement_batch_hash(entries=[(first, 101), (second, 250)]) != expected


def test_post_ids_are_derived_from_the_pending_id():
    pending_id = uuid.UUID("00000000-0000-4000-8000-000000000001")

    post_id = services.settlement_post_transfer_id(pending_transfer_id=pending_id)

    assert post_id == uuid.uuid5(services.SETTLEMENT_NAMESPACE, f"post:{pending_id}")
    assert post_id == services.settlement_post_transfer_id(pending_transfer_id=pending_id)
    assert post_id != services.settlement_post_transfer_id(pending_transfer_id=uuid.UUID(int=2))


def test_a_run_that_reaches_its_round_limit_hands_the_rest_to_a_continuation(
    ledger, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=False):
        pending_ids = redemptions_create(ledger=ledger, count=5, per_transaction=5)
    monkeypatch.setattr(services, "MAX_ROUNDS_PER_TASK", 1)
    trigger = _message()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = services.settlement_batch_run(outbox_message_id=trigger.pk, batch_size=2)

    assert first == services.SettlementRunResult(batches_closed=1, items_settled=2, items_rejected=0)
    assert len(callbacks) == 1
    continuation = OutboxMessage.objects.get(key=f"continue:{trigger.pk}")
    assert (continuation.state, continuation.attempts) == (OutboxState.DONE, 1)
    assert OutboxMessage.objects.get(pk=trigger.pk).state == OutboxState.DONE
    assert list(SettlementBatch.objects.order_by("id").values_list("item_count", flat=True)) == [2, 3]
    assert_posted_exactly_once(ledger=ledger, pending_ids=pending_ids, total=expected_total(start=0, count=5))


def test_closing_a_batch_queues_its_hash_for_anchoring_once():
    from identity.models import AnchorLeaf
    from payments.models import SettlementBatch
    from payments.tests.settlement.helpers import settlement_batch_closed_create

    batch = SettlementBatch.objects.get(pk=settlement_batch_closed_create(amount=4200))

    leaf = AnchorLeaf.objects.get()
    assert (leaf.leaf_hash, leaf.source, leaf.reference) == (
        batch.leaf_hash,
        "settlement_batch",
        f"settlement-batch:{batch.pk}",
    )
