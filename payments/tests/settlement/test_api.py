"""Settlement API: authorization matrix, cursor pagination, exact bodies."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from payments.models import OutboxMessage, SettlementBatch
from payments.settlement import services
from payments.tests.settlement.helpers import (
    expected_total,
    pending_amount,
    redemptions_create,
    settlement_ledger_create,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("payments.tests.settlement.urls")]


@pytest.fixture
def batches(django_capture_on_commit_callbacks) -> list[SettlementBatch]:
    """Two closed batches (3 + 2 items) and one open batch (1 item), oldest first."""
    ledger = settlement_ledger_create()
    with django_capture_on_commit_callbacks(execute=False):
        redemptions_create(ledger=ledger, count=5, per_transaction=5)
    services.settlement_batch_run(outbox_message_id=OutboxMessage.objects.get().pk, batch_size=3)
    with django_capture_on_commit_callbacks(execute=False):
        redemptions_create(ledger=ledger, count=1, per_transaction=1, start=5)
    services.settlement_batch_claim(batch_size=10, outbox_message_id=None)
    return list(SettlementBatch.objects.order_by("id"))


def _iso(moment: datetime) -> str:
    """How the API writes a datetime: ISO 8601 in the portal's time zone."""
    return timezone.localtime(moment).isoformat()


def _body(batch: SettlementBatch) -> dict[str, object]:
    return {
        "id": batch.pk,
        "state": batch.state,
        "item_count": batch.item_count,
        "settled_count": batch.settled_count,
        "rejected_count": batch.rejected_count,
        "totals": batch.totals,
        "leaf_hash": batch.leaf_hash,
        "created_at": _iso(batch.created_at),
        "closed_at": _iso(batch.closed_at) if batch.closed_at else None,
    }


@pytest.mark.parametrize("url_name", ["payments-api:settlement-batch-list", "payments-api:settlement-backlog"])
def test_only_back_office_staff_past_the_second_factor_may_read(url_name, make_user, client_for, back_office):
    url = reverse(url_name)
    assert Client().get(url).status_code == 401
    for role in (Role.CUSTOMER, Role.DEALER):
        response = client_for(make_user(role)).get(url)
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    without_second_factor = Client()
    without_second_factor.force_login(make_user(Role.BACK_OFFICE))
    unverified = without_second_factor.get(url)
    assert (unverified.status_code, unverified.json()["code"]) == (403, "second_factor_required")

    assert client_for(back_office).get(url).status_code == 200


def test_batch_detail_matrix_and_unknown_batch(batches, make_user, client_for, back_office):
    url = reverse("payments-api:settlement-batch-detail", args=[batches[0].pk])
    assert Client().get(url).status_code == 401
    assert client_for(make_user(Role.DEALER)).get(url).status_code == 403
    assert client_for(make_user(Role.CUSTOMER)).get(url).status_code == 403

    response = client_for(back_office).get(url)

    assert (response.status_code, response.json()) == (200, _body(batches[0]))
    missing = client_for(back_office).get(reverse("payments-api:settlement-batch-detail", args=[batches[-1].pk + 1]))
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_batches_are_listed_newest_first_with_a_cursor(batches, client_for, back_office):
    client = client_for(back_office)
    first = client.get(reverse("payments-api:settlement-batch-list"), {"page_size": 2}).json()

    assert first["results"] == [_body(batches[2]), _body(batches[1])]
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert second["results"] == [_body(batches[0])]
    assert second["next"] is None
    assert batches[0].totals == {"EUR": expected_total(start=0, count=3)}
    assert batches[1].totals == {"EUR": pending_amount(3) + pending_amount(4)}
    assert (batches[2].state, batches[2].item_count, batches[2].leaf_hash) == ("open", 1, "")


def test_batches_can_be_filtered_by_state(batches, client_for, back_office):
    client = client_for(back_office)
    url = reverse("payments-api:settlement-batch-list")

    assert client.get(url, {"state": "open"}).json()["results"] == [_body(batches[2])]
    assert [b["id"] for b in client.get(url, {"state": "closed"}).json()["results"]] == [batches[1].pk, batches[0].pk]
    refused = client.get(url, {"state": "posted"})
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_input")


def test_backlog_reports_the_outbox_and_the_items_due(batches, client_for, back_office):
    body = client_for(back_office).get(reverse("payments-api:settlement-backlog")).json()

    oldest_message = OutboxMessage.objects.get(payload={"items": 1})
    assert body["outbox_by_state"] == {"pending": 1, "enqueued": 0, "done": 1, "dead": 0}
    assert (body["outbox_unfinished"], body["outbox_resent"]) == (1, 0)
    assert body["outbox_oldest_unfinished_at"] == _iso(oldest_message.created_at)
    assert body["outbox_oldest_unfinished_age_seconds"] >= 0
    assert body["items_by_state"] == {"requested": 0, "claimed": 1, "settled": 5, "rejected": 0}
    assert body["items_due"] == 1
    assert body["items_due_by_currency"] == {"EUR": pending_amount(5)}
    assert (body["batches_open"], body["batches_closed"]) == (1, 2)
    assert body["settled_by_currency"] == {"EUR": expected_total(start=0, count=5)}
