"""Settlement pages for back-office staff: authorization matrix, content, paging."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from core.money import Money
from payments.models import OutboxMessage, SettlementBatch
from payments.settlement import services
from payments.tests.settlement.helpers import redemptions_create, settlement_ledger_create
from payments.views import settlement as views

pytestmark = [pytest.mark.django_db, pytest.mark.urls("payments.tests.settlement.urls")]


@pytest.fixture
def batches(django_capture_on_commit_callbacks) -> list[SettlementBatch]:
    """Three closed batches of one item each, oldest first."""
    ledger = settlement_ledger_create()
    with django_capture_on_commit_callbacks(execute=False):
        redemptions_create(ledger=ledger, count=3, per_transaction=3)
    services.settlement_batch_run(outbox_message_id=OutboxMessage.objects.get().pk, batch_size=1)
    return list(SettlementBatch.objects.order_by("id"))


def test_pages_are_for_back_office_staff_only(batches, make_user, client_for, back_office):
    for url in (
        reverse("payments:settlement-batch-list"),
        reverse("payments:settlement-batch-detail", args=[batches[0].pk]),
    ):
        anonymous = Client().get(url)
        assert (anonymous.status_code, anonymous["Location"]) == (302, f"{reverse('accounts:login')}?next={url}")
        for role in (Role.CUSTOMER, Role.DEALER):
            assert client_for(make_user(role)).get(url).status_code == 403
        without_second_factor = Client()
        without_second_factor.force_login(make_user(Role.BACK_OFFICE))
        unverified = without_second_factor.get(url)
        assert (unverified.status_code, unverified["Location"]) == (302, reverse("accounts:mfa-setup"))
        assert client_for(back_office).get(url).status_code == 200


def test_the_list_shows_batches_and_the_backlog(batches, client_for, back_office):
    response = client_for(back_office).get(reverse("payments:settlement-batch-list"))

    assert [batch.pk for batch in response.context["batches"]] == [batches[2].pk, batches[1].pk, batches[0].pk]
    assert response.context["backlog"].items_by_state == {"requested": 0, "claimed": 0, "settled": 3, "rejected": 0}
    assert response.context["older_before"] is None
    html = response.content.decode()
    assert reverse("payments:settlement-batch-detail", args=[batches[0].pk]) in html
    assert Money(batches[0].totals["EUR"], "EUR").format() in html  # euros in the reader's locale, not minor units


def test_the_list_pages_back_by_id(batches, client_for, back_office, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client = client_for(back_office)
    url = reverse("payments:settlement-batch-list")

    first = client.get(url)
    assert [batch.pk for batch in first.context["batches"]] == [batches[2].pk, batches[1].pk]
    assert first.context["older_before"] == batches[1].pk
    older = client.get(url, {"before": batches[1].pk})
    assert [batch.pk for batch in older.context["batches"]] == [batches[0].pk]
    assert older.context["older_before"] is None
    assert client.get(url, {"before": "x"}).status_code == 404
    assert client.get(url, {"state": "posted"}).status_code == 404
    assert [b.pk for b in client.get(url, {"state": "open"}).context["batches"]] == []


def test_the_detail_shows_the_hash_and_unknown_batches_are_not_found(batches, client_for, back_office):
    client = client_for(back_office)

    response = client.get(reverse("payments:settlement-batch-detail", args=[batches[0].pk]))

    assert batches[0].leaf_hash in response.content.decode()
    assert client.get(reverse("payments:settlement-batch-detail", args=[batches[-1].pk + 1])).status_code == 404
