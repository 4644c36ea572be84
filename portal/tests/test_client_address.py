"""The client address comes from forwarding headers only behind proxies named in PORTAL_TRUSTED_PROXIES, for the
login limits, the API throttles and the logs alike; the servers the project starts never trust those headers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory

from accounts.tests.factories import TEST_PASSWORD
from core.client_address import client_address, client_pseudonym
from leasing.models import Quote
from leasing.tests import factories as leasing_factories
from machines.testing import asgi_server
from portal.testing import child_environment

BASE_DIR = Path(__file__).resolve().parents[2]
LOG_PATH = Path("/tmp/finlab-client-address-test.log")
QUOTE = {
    "product_code": "mileage-36",
    "price": 30_000_00,
    "down_payment": 3_000_00,
    "term_months": 36,
    "yearly_km": 15_000,
    "timing": "in_advance",
    "service_packages": ["mileage-36-maintenance"],
}
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _in_one_minute_window(send):
    """The login limit counts in fixed one-minute windows: runs `send` again, from a fresh window, if it straddled."""
    for _ in range(3):
        window = int(time.time() // 60)
        result = send()
        if int(time.time() // 60) == window:
            return result
        time.sleep(120 - time.time() % 60)
    raise AssertionError("three attempts straddled a minute boundary")


@pytest.mark.django_db(transaction=True)
def test_hole_5_rotating_x_forwarded_for_defeats_neither_the_login_limit_nor_the_api_throttle(customer):
    """The attack of the review, against a real uvicorn started as the project starts it, from 127.0.0.1."""
    leasing_factories.mileage_lease_product()
    environment = child_environment(
        LOGIN_RATE_PER_MINUTE="3", API_THROTTLE_ANON="3/minute", CELERY_TASK_ALWAYS_EAGER="true"
    )
    with asgi_server(environment=environment, log_path=LOG_PATH) as url:
        base_url = url.replace("ws://", "http://")

        def login_attempts() -> list[int]:
            with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as browser:
                token = _CSRF_FIELD.search(browser.get("/accounts/login/").text).group(1)
                statuses = []
                for attempt in range(6):
                    # The last attempts carry the right password: the limit must hold for them too.
                    password = TEST_PASSWORD if attempt >= 4 else "wrong-password-123"
                    answer = browser.post(
                        "/accounts/login/",
                        data={"csrfmiddlewaretoken": token, "email": customer.email, "password": password},
                        headers={"X-Forwarded-For": f"198.51.100.{attempt + 1}", "Referer": f"{base_url}/"},
                    )
                    statuses.append(answer.status_code)
                return statuses

        login_statuses = _in_one_minute_window(login_attempts)
        with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as api:
            quotes = [
                api.post("/api/leasing/quotes", json=QUOTE, headers={"X-Forwarded-For": f"203.0.113.{index}"})
                for index in range(1, 6)
            ]

    assert login_statuses == [400, 400, 400, 429, 429, 429]
    assert Session.objects.count() == 0
    customer.refresh_from_db()
    assert customer.last_login is None
    assert [answer.status_code for answer in quotes] == [201, 201, 201, 429, 429]
    assert {answer.json()["code"] for answer in quotes[3:]} == {"throttled"}
    assert Quote.objects.count() == 3


def _request(remote_addr: str, forwarded_for: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


@pytest.mark.parametrize(
    ("trusted", "remote_addr", "forwarded_for", "expected"),
    [
        ([], "127.0.0.1", "198.51.100.7", "127.0.0.1"),
        ([], "203.0.113.9", "198.51.100.7, 10.0.0.1", "203.0.113.9"),
        (["10.0.0.0/8"], "203.0.113.9", "198.51.100.7", "203.0.113.9"),
        (["10.0.0.0/8"], "10.0.0.5", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        (["10.0.0.0/8"], "10.0.0.5", "6.6.6.6, 198.51.100.7, 10.1.2.3", "198.51.100.7"),
        (["10.0.0.0/8"], "10.0.0.5", "10.9.9.9, 10.1.2.3", "10.9.9.9"),
        (["10.0.0.0/8"], "10.0.0.5", "198.51.100.7, not-an-address", "10.0.0.5"),
        (["10.0.0.0/8"], "10.0.0.5", "", "10.0.0.5"),
        (["10.0.0.5", "2001:db8::/32"], "2001:db8::1", "2001:db8::2, 2a00:1450::1", "2a00:1450::1"),
        ([], "::ffff:127.0.0.1", None, "127.0.0.1"),
        ([], "", "198.51.100.7", "unknown"),
    ],
    ids=[
        "no-proxy-named-header-ignored",
        "no-proxy-named-chain-ignored",
        "peer-not-a-named-proxy",
        "behind-a-named-proxy",
        "behind-two-named-proxies",
        "only-named-proxies-in-the-chain",
        "malformed-hop",
        "empty-header",
        "ipv6-proxy",
        "ipv4-mapped-peer",
        "no-peer",
    ],
)
def test_client_address_believes_forwarding_headers_only_from_named_proxies(
    settings, trusted, remote_addr, forwarded_for, expected
):
    settings.PORTAL_TRUSTED_PROXIES = trusted

    assert client_address(_request(remote_addr, forwarded_for)) == expected


@pytest.mark.django_db
def test_behind_a_named_proxy_each_client_has_its_own_login_limit(settings, customer):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.5"]
    settings.LOGIN_RATE_PER_MINUTE = 2
    proxy = Client(REMOTE_ADDR="10.0.0.5")
    body = {"email": customer.email, "password": "wrong-password-123"}

    first = [proxy.post("/accounts/login/", body, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code for _ in range(3)]
    second = proxy.post("/accounts/login/", body, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.2").status_code

    assert first[:2] == [400, 400] and first[2] == 429
    assert second == 400


def test_logs_name_the_client_by_a_keyed_hash_of_the_same_address(settings):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.5"]

    behind_proxy = client_pseudonym(_request("10.0.0.5", "198.51.100.7"))
    direct = client_pseudonym(_request("198.51.100.7"))
    spoofed = client_pseudonym(_request("203.0.113.9", "198.51.100.7"))

    assert behind_proxy == direct != spoofed
    assert re.fullmatch(r"[0-9a-f]{16}", direct) and "198" not in direct


def test_every_uvicorn_the_project_starts_ignores_forwarding_headers():
    """uvicorn's default believes X-Forwarded-For from 127.0.0.1; each place that starts it passes the portal's
    arguments (`--no-proxy-headers`) instead."""
    starters = sorted(
        path.relative_to(BASE_DIR).as_posix()
        for path in BASE_DIR.rglob("*.py")
        if ".venv" not in path.parts and "tests" not in path.parts and '"uvicorn"' in path.read_text()
    )

    # Every other starter (make run, the load and fault runs, the benchmarks, the OCPP tests) takes its command line
    # from core.serving.
    assert starters == ["bench/serving.py", "core/serving.py"]
    assert all("*uvicorn_proxy_arguments()" in (BASE_DIR / path).read_text() for path in starters)
    from core.client_address import uvicorn_proxy_arguments

    assert uvicorn_proxy_arguments() == ["--no-proxy-headers"]


def test_production_names_no_trusted_proxy_by_default_and_refuses_a_malformed_one():
    import subprocess
    import sys

    from portal.testing import production_environment, production_setting

    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=production_environment() | {"PORTAL_TRUSTED_PROXIES": "10.0.0.0/8,not-an-address"},
        capture_output=True,
        text=True,
    )

    assert production_setting("PORTAL_TRUSTED_PROXIES") == "[]"
    assert production_setting("OUTBOUND_HTTP_ALLOWED_NETWORKS") == "[]"
    assert production_setting("OUTBOUND_HTTP_ALLOW_PLAIN_HTTP") == "False"
    assert refused.returncode != 0
    assert "PORTAL_TRUSTED_PROXIES: 'not-an-address' is not an IP address or network." in refused.stderr
