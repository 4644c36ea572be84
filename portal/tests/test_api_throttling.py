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
