import pytest
from rest_framework.throttling import SimpleRateThrottle

from conftest import login_client

pytestmark = pytest.mark.django_db


def test_api_answers_429_in_the_error_contract_once_the_rate_is_used_up(customer, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/minute")
    client = login_client(customer)

    statuses = [client.get("/api/accounts/me").status_code for _ in range(4)]
    response = client.get("/api/accounts/me")

    assert statuses == [200, 200, 200, 429]
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response.headers


def test_with_the_cache_unreachable_money_endpoints_still_answer_and_log_it(dealer, customer, settings, caplog):
    """Rate limits live in Redis; the payment itself does not. During a Redis outage the API keeps working."""
    import uuid

    from payments.qr.selectors import qr_code_view
    from payments.tests.qr.factories import paid_code_create

    code = paid_code_create(owner=customer, amount=5_000)
    token = qr_code_view(code=code).token
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    client = login_client(dealer)

    response = client.post(
        "/api/payments/qr-redemptions",
        {"token": token, "amount": 100, "currency": "EUR"},
        content_type="application/json",
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )

    assert response.status_code == 201
    assert "the cache is unreachable" in caplog.text


def test_a_rate_limited_api_request_costs_one_redis_round_trip(dealer, monkeypatch):
    """The sliding-window count is checked and taken by one script (DRF's own throttle reads and writes: two)."""
    import redis
    from django.test import Client

    from accounts.services import api_token_create

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/minute")
    _, raw = api_token_create(user=dealer, name="DMS")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get("/api/accounts/me").status_code == 200  # Redis learns the script (once per Redis start)
    commands: list[str] = []
    execute = redis.Redis.execute_command

    def counted(self, *args, **options):
        commands.append(str(args[0]))
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)

    statuses = [client.get("/api/accounts/me").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert len(commands) == 3, commands  # one per request, the refused one included
