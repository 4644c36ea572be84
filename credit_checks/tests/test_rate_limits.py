"""Rate limits on opening and answering credit checks: the dealer API's `credit_check` throttle and the per-minute
limit of the credit-check forms. Every refusal is a 429 that opens, answers or records nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from accounts import services as account_services
from accounts.roles import Role
from credit_checks.models import ConsentReceipt, CreditCheckRequest

pytestmark = pytest.mark.django_db

API_URL = "/api/identity/credit-checks"
API_BODY = {"purpose": "lease", "amount": 450_00, "currency": "EUR", "termMonths": 36}
FORM_BODY = {"purpose": "lease", "instalment": "120.50", "currency": "EUR", "term_months": "36"}
TOO_MANY = "Too many requests. Wait a minute before trying again."


@pytest.fixture
def one_rate_window(monkeypatch) -> None:
    """The form limit counts in fixed one-minute windows; hold the clock of the counter so a test never straddles
    two windows."""
    now = timezone.now()
    monkeypatch.setattr(account_services, "timezone", SimpleNamespace(now=lambda: now))


def _token_client(user) -> Client:
    _token, raw = account_services.api_token_create(user=user, name="dealer management system")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_dealer_api_refuses_the_credit_check_beyond_the_rate_and_opens_none(dealer, make_user, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "credit_check", "3/minute")
    api = _token_client(dealer)

    answers = [api.post(API_URL, API_BODY, content_type="application/json") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    refused = answers[-1]
    assert refused.json()["code"] == "throttled"
    assert set(refused.json()) == {"code", "detail", "fields"}
    assert "Retry-After" in refused.headers
    assert CreditCheckRequest.objects.count() == 3
    # Polling is outside the credit_check rate, and the limit counts per user, not per organisation.
    assert api.get(f"{API_URL}/{answers[0].json()['id']}").status_code == 200
    colleague = make_user(Role.DEALER, dealer_organisation=dealer.dealer_organisation)
    assert _token_client(colleague).post(API_URL, API_BODY, content_type="application/json").status_code == 201
    assert CreditCheckRequest.objects.count() == 4


@override_settings(CREDIT_CHECK_PAGE_RATE_PER_MINUTE=3)
def test_dealer_form_refuses_the_credit_check_beyond_the_rate_with_a_429_page(client_for, dealer, one_rate_window):
    dealer_client = client_for(dealer)

    answers = [dealer_client.post("/identity/credit-checks/", FORM_BODY) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [302, 302, 302, 429]
    refused = answers[-1]
    assert refused.templates[0].name == "credit_checks/list.html"
    assert TOO_MANY in refused.content.decode()
    assert refused.headers["Retry-After"] == "60"
    assert refused.context["form"].initial["instalment"] == "120.50"
    assert CreditCheckRequest.objects.count() == 3
    assert dealer_client.get("/identity/credit-checks/").status_code == 200


@override_settings(CREDIT_CHECK_PAGE_RATE_PER_MINUTE=2)
def test_customer_answer_beyond_the_rate_is_refused_with_a_429_page_and_records_nothing(
    client_for, customer, open_request, one_rate_window
):
    credit_check = open_request()
    customer_client = client_for(customer)
    url = f"/identity/credit-checks/respond/{credit_check.link_token}/"

    attempts = [customer_client.post(url, {"action": "present", "presentation": ""}) for _ in range(2)]
    refused = customer_client.post(url, {"action": "decline"})

    assert [attempt.status_code for attempt in attempts] == [302, 302]
    assert refused.status_code == 429
    assert refused.templates[0].name == "credit_checks/respond.html"
    assert TOO_MANY in refused.content.decode()
    assert refused.headers["Retry-After"] == "60"
    credit_check.refresh_from_db()
    assert credit_check.status == "open"
    assert ConsentReceipt.objects.filter(request=credit_check).exists() is False
    assert customer_client.get(url).status_code == 200


@override_settings(CREDIT_CHECK_PAGE_RATE_PER_MINUTE=1)
def test_form_limit_counts_per_user_not_per_organisation(client_for, dealer, make_user, one_rate_window):
    colleague = make_user(Role.DEALER, dealer_organisation=dealer.dealer_organisation)
    dealer_client = client_for(dealer)

    statuses = [dealer_client.post("/identity/credit-checks/", FORM_BODY).status_code for _ in range(2)]
    colleague_answer = client_for(colleague).post("/identity/credit-checks/", FORM_BODY)

    assert statuses == [302, 429]
    assert colleague_answer.status_code == 302
    assert CreditCheckRequest.objects.count() == 2


def test_with_the_cache_unreachable_the_form_limit_steps_aside(settings, dealer, caplog):
    """A Redis outage must not turn the credit-check forms into error pages; the limit is back with Redis."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    from accounts.services import request_rate_exceeded

    assert request_rate_exceeded(scope="credit_check_open", client=f"user:{dealer.pk}", limit_per_minute=0) is False
    assert "the cache is unreachable" in caplog.text
