"""The public quote API: figures, named errors in the API error shape, throttling of anonymous callers."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from leasing.models import Quote
from leasing.tests import factories

pytestmark = pytest.mark.django_db
BODY = {
    "product_code": "mileage-36",
    "price": 30_000_00,
    "down_payment": 3_000_00,
    "term_months": 36,
    "yearly_km": 15_000,
    "timing": "in_advance",
    "service_packages": ["mileage-36-maintenance"],
}


def test_an_anonymous_visitor_gets_a_quote(mileage_product):
    response = Client().post("/api/leasing/quotes", BODY, content_type="application/json")

    assert response.status_code == 201
    body = response.json()
    quote = Quote.objects.get()
    assert body["id"] == str(quote.public_id)
    assert (body["financed_amount"], body["residual_value"], body["monthly_services"]) == (27_000_00, 15_000_00, 29_90)
    assert body["monthly_total"] == body["monthly_instalment"] + 29_90
    assert body["aprc_percent"] == str(quote.aprc_percent)
    assert Client().get(body["pdf_url"]).content[:5] == b"%PDF-"


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"product_code": "nope"}, 422, "product_unknown"),
        ({"price": -5}, 422, "price_invalid"),
        ({"term_months": 60}, 422, "term_outside_product"),
        ({"residual_value": 40_000_00}, 422, "residual_invalid"),
        ({"start_date": "2025-02-30"}, 400, "invalid_input"),
        ({"price": "a lot"}, 400, "invalid_input"),
    ],
)
def test_bad_input_gets_a_named_error_and_stores_nothing(mileage_product, changes, status, code):
    response = Client().post("/api/leasing/quotes", BODY | changes, content_type="application/json")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "detail", "fields"}
    assert Quote.objects.count() == 0


def test_a_lease_leaving_one_cent_to_repay_is_refused_by_name_and_stores_nothing():
    factories.short_product()
    body = {"product_code": "short-0", "price": 402_42, "down_payment": 201_20, "term_months": 2, "yearly_km": 5_000}

    response = Client().post("/api/leasing/quotes", body | {"timing": "in_advance"}, content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {
        "code": "repayment_too_small",
        "detail": "The down payment and the residual value leave €0.01 to repay over 2 months, too little for an "
        "instalment every month. Lower the down payment or choose a higher yearly mileage.",
        "fields": {"down_payment": ["Too little is left to repay each month."]},
    }
    assert Quote.objects.count() == 0


def test_anonymous_quotes_are_throttled(monkeypatch, mileage_product):
    from rest_framework.throttling import SimpleRateThrottle

    # The rates dict is changed in place and restored by monkeypatch; replacing it would drop the other scopes.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    cache.clear()
    statuses = [
        Client().post("/api/leasing/quotes", BODY, content_type="application/json").status_code for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
