"""The dealer API (bearer token) and the signed webhook, delivered to a receiver on loopback that fails once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from accounts.roles import Role
from accounts.services import api_token_create
from credit_checks.models import CreditCheckRequest, WebhookDelivery
from credit_checks.services import credit_check_claim, credit_check_present
from credit_checks.tasks import credit_check_webhook_deliver
from credit_checks.tests.conftest import present
from credit_checks.webhooks import WebhookDeliveryFailed

pytestmark = pytest.mark.django_db


class Receiver:
    """A dealer system: answers 500 to the first call, 200 after; remembers events by id (idempotent)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []
        self.processed: dict[str, dict[str, object]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append({"headers": dict(self.headers), "body": body})
                status = 500 if len(receiver.calls) == 1 else 200
                if status == 200:
                    receiver.processed.setdefault(self.headers["X-FinLab-Event-Id"], json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/finlab-hook"


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    # The receiver listens on loopback over plain HTTP, which production refuses; this test allows exactly that
    # address, as the development settings allow loopback.
    settings.OUTBOUND_HTTP_ALLOW_PLAIN_HTTP = True
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    started = Receiver()
    thread = threading.Thread(target=started.server.serve_forever, daemon=True)
    thread.start()
    yield started
    started.server.shutdown()
    started.server.server_close()


def _token_client(user) -> Client:
    _token, raw = api_token_create(user=user, name="dealer management system")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def _signature_ok(secret: str, call: dict[str, object]) -> bool:
    headers = call["headers"]
    expected = hmac.new(
        secret.encode(), headers["X-FinLab-Timestamp"].encode() + b"." + call["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["X-FinLab-Signature"], f"sha256={expected}")


def test_dealer_api_creates_polls_and_receives_a_signed_webhook_with_retry(
    dealer, customer, issue_credit, wallet, receiver, make_user, django_capture_on_commit_callbacks
):
    api = _token_client(dealer)
    hook = api.put("/api/identity/credit-checks/webhook", {"url": receiver.url}, content_type="application/json")
    assert hook.status_code == 200
    secret = hook.json()["secret"]
    created = api.post(
        "/api/identity/credit-checks",
        {"purpose": "financing", "amount": 399_00, "currency": "EUR", "termMonths": 48},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    request = CreditCheckRequest.objects.get(public_id=body["id"])
    assert (body["status"], body["verdict"], body["domain"]) == ("open", None, request.domain)
    assert body["link"] == f"http://testserver/identity/credit-checks/respond/{request.link_token}/"

    request = credit_check_claim(link_token=request.link_token, customer=customer)
    with django_capture_on_commit_callbacks() as after_commit:
        credit_check_present(
            request=request,
            customer=customer,
            presentation=present(sd_jwt=issue_credit(), wallet=wallet, request=request),
        )
    assert len(after_commit) == 1 and receiver.calls == []
    delivery = WebhookDelivery.objects.get()
    # As a worker runs it: the first attempt gets 500 and raises Retry with a backoff countdown; the retry delivers.
    result = credit_check_webhook_deliver.apply(args=[delivery.pk], throw=False)
    assert (result.state, result.result) == ("SUCCESS", str(delivery.event_id))

    polled = api.get(f"/api/identity/credit-checks/{body['id']}")
    assert polled.status_code == 200
    verdict = polled.json()["verdict"]
    assert (polled.json()["status"], verdict["outcome"], verdict["policyVersion"]) == ("decided", "approved", 1)
    assert verdict["disclosedClaims"] == {
        "scoreBand": "B",
        "affordabilityCeilingPerMonth": {"amountMinor": 650_00, "currency": "EUR"},
    }
    assert [call["headers"]["X-FinLab-Event-Id"] for call in receiver.calls] == [
        str(WebhookDelivery.objects.get().event_id)
    ] * 2
    assert all(_signature_ok(secret, call) for call in receiver.calls)
    assert not _signature_ok("whsec_wrong", receiver.calls[1])
    assert receiver.calls[0]["body"] == receiver.calls[1]["body"]
    assert list(receiver.processed.values()) == [{"type": "credit_check.completed", "creditCheck": polled.json()}]
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.delivered_at is not None) == (2, 200, True)

    credit_check_webhook_deliver.delay(delivery.pk)
    assert len(receiver.calls) == 2

    other_dealer = _token_client(make_user(Role.DEALER))
    assert other_dealer.get(f"/api/identity/credit-checks/{body['id']}").status_code == 404


def test_failed_deliveries_back_off_exponentially():
    from celery.utils.time import get_exponential_backoff_interval

    task = credit_check_webhook_deliver
    assert (task.autoretry_for, task.max_retries, task.retry_backoff, task.retry_backoff_max) == (
        (WebhookDeliveryFailed,),
        10,
        5,
        3600,
    )
    delays = [get_exponential_backoff_interval(5, retries, 3600, full_jitter=False) for retries in range(5)]
    assert delays == [5, 10, 20, 40, 80]


def test_the_api_refuses_bad_input_and_other_roles(dealer, customer):
    api = _token_client(dealer)
    refused = api.post(
        "/api/identity/credit-checks",
        {"purpose": "holiday", "amount": 0, "currency": "eur", "termMonths": 0},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert set(refused.json()["fields"]) == {"purpose", "amount", "currency", "termMonths"}
    assert (
        _token_client(customer).post("/api/identity/credit-checks", {}, content_type="application/json").status_code
        == 403
    )
    assert (
        api.put(
            "/api/identity/credit-checks/webhook",
            {"url": "http://dealer.example/hook"},
            content_type="application/json",
        ).json()["code"]
        == "webhook_url_invalid"
    )
    assert CreditCheckRequest.objects.count() == 0
