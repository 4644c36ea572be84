"""Blocking a code and voiding a redemption move money for good: each asks once more, on the server (no script)."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from conftest import login_client
from payments.models import QrCode, QrRedemption
from payments.qr.redemptions import RedemptionRequest, qr_redemption_authorize
from payments.qr.selectors import qr_code_view
from payments.tests.qr.factories import database_snapshot

pytestmark = pytest.mark.django_db


def test_blocking_a_code_asks_first_and_changes_nothing_until_confirmed(customer, code):
    client = login_client(customer)
    url = reverse("payments:qr-code-block", args=[code.public_id])
    before = database_snapshot()

    question = client.post(url)

    assert question.status_code == 200
    page = question.content.decode()
    assert 'data-testid="confirm"' in page and 'name="confirmed" value="yes"' in page
    assert f'action="{url}"' in page and "<script" not in page.split("<main", 1)[1]
    assert database_snapshot() == before

    done = client.post(url, {"confirmed": "yes"})

    code.refresh_from_db()
    assert done.status_code == 302
    assert code.status == "blocked" and code.replaced_by_id is not None
    assert QrCode.objects.filter(owner=customer).count() == 2


def test_the_confirmation_page_speaks_german(customer, code):
    client = login_client(customer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"

    page = client.post(reverse("payments:qr-code-block", args=[code.public_id])).content.decode()

    assert f"Code {code.short_id} sperren?" in page and "Nein, zurück" in page


def test_voiding_a_redemption_asks_first(dealer, customer, code):
    request = RedemptionRequest(
        token=qr_code_view(code=code).token, amount=1_000, currency="EUR", idempotency_key=uuid.uuid4().hex
    )
    redemption = qr_redemption_authorize(user=dealer, request=request)
    client = login_client(dealer)
    url = reverse("payments:qr-dealer-redemption-void", args=[redemption.public_id])
    form = {"void-idempotency_key": uuid.uuid4().hex}

    question = client.post(url, form)
    redemption.refresh_from_db()
    assert question.status_code == 200 and 'data-testid="confirm"' in question.content.decode()
    assert f'value="{form["void-idempotency_key"]}"' in question.content.decode()  # the one-time key travels along
    assert redemption.status == "authorized"

    client.post(url, form | {"confirmed": "yes"})
    assert QrRedemption.objects.get(pk=redemption.pk).status == "voided"
