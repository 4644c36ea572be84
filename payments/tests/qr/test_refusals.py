"""Every refused redemption answers with a named code and leaves the ledger and every QR table as they were."""

from __future__ import annotations

import base64
import datetime
import io
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.utils import timezone
from PIL import Image

from payments.models import QrCode
from payments.qr import tokens
from payments.qr.selectors import qr_code_view
from payments.qr.services import qr_code_block_and_replace
from payments.qr.tokens import qr_png, qr_token_sign
from payments.tests.qr.factories import database_snapshot, paid_code_create

pytestmark = pytest.mark.django_db
URL = "/api/payments/qr-redemptions"


def _redeem(client: Client, token: str, *, amount: int = 1_000, currency: str = "EUR", key: str | None = None):
    return client.post(
        URL,
        data=json.dumps({"token": token, "amount": amount, "currency": currency}),
        content_type="application/json",
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def _assert_refused(client: Client, token: str, code: str, **kwargs: object) -> None:
    before = database_snapshot()

    response = _redeem(client, token, **kwargs)

    assert (response.status_code, response.json()["code"]) == (422, code), response.content
    assert database_snapshot() == before


def _forged_token(public_id: uuid.UUID) -> str:
    body = tokens._BODY.pack(1, 1, public_id.bytes, 1, int(timezone.now().timestamp()) + 3600)
    raw = body + Ed25519PrivateKey.generate().sign(body)
    return tokens.TOKEN_PREFIX + base64.b32encode(raw).decode().rstrip("=")


def test_a_token_signed_by_another_key_is_refused(client_for, dealer, code):
    _assert_refused(client_for(dealer), _forged_token(code.public_id), "token_signature_invalid")


def test_an_altered_token_is_refused(client_for, dealer, code):
    token = qr_code_view(code=code).token
    position = len(tokens.TOKEN_PREFIX) + 10
    altered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]

    _assert_refused(client_for(dealer), altered, "token_signature_invalid")


def test_text_that_is_no_code_is_refused(client_for, dealer, code):
    _assert_refused(client_for(dealer), "https://example.test/not-a-code", "token_malformed")
    _assert_refused(client_for(dealer), tokens.TOKEN_PREFIX + "AAAA", "token_malformed")


def test_a_genuine_token_for_an_unknown_code_is_refused(client_for, dealer, code):
    token = qr_token_sign(public_id=uuid.uuid4(), version=1, expires_at=timezone.now() + datetime.timedelta(days=1))

    _assert_refused(client_for(dealer), token, "code_unknown")


def test_an_expired_code_is_refused(client_for, dealer, code):
    past = timezone.now() - datetime.timedelta(seconds=1)
    QrCode.objects.filter(pk=code.pk).update(expires_at=past)
    token = qr_token_sign(public_id=code.public_id, version=code.version, expires_at=past)

    _assert_refused(client_for(dealer), token, "code_expired")


def test_a_blocked_code_is_refused(client_for, dealer, customer, code):
    token = qr_code_view(code=code).token
    qr_code_block_and_replace(code_id=code.pk, owner=customer)

    _assert_refused(client_for(dealer), token, "code_blocked")


def test_an_exhausted_code_is_refused(client_for, dealer, customer):
    code = paid_code_create(owner=customer, amount=1_000)
    client = client_for(dealer)
    redemption = _redeem(client, qr_code_view(code=code).token, amount=1_000).json()
    assert (
        client.post(
            f"{URL}/{redemption['id']}/capture",
            {"amount": 1_000},
            content_type="application/json",
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ).status_code
        == 200
    )

    _assert_refused(client, qr_code_view(code=code).token, "code_exhausted", amount=100)


def test_more_than_the_balance_is_refused(client_for, dealer, code):
    _assert_refused(client_for(dealer), qr_code_view(code=code).token, "insufficient_balance", amount=5_001)


def test_a_foreign_currency_is_refused(client_for, dealer, code):
    _assert_refused(client_for(dealer), qr_code_view(code=code).token, "currency_mismatch", currency="USD")


def test_a_missing_idempotency_key_is_refused(client_for, dealer, code):
    before = database_snapshot()

    response = client_for(dealer).post(
        URL, data=json.dumps({"token": qr_code_view(code=code).token, "amount": 100, "currency": "EUR"}),
        content_type="application/json",
    )  # fmt: skip

    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_missing")
    assert database_snapshot() == before


def _page_upload(client: Client, data: bytes, name: str = "photo.png"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(
        "/payments/qr/dealer/redeem/", {"photo": upload, "amount": "10.00", "idempotency_key": uuid.uuid4().hex}
    )


def _png_without_code() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make_data", "code_name"),
    [
        (lambda: b"this is not a picture", "image_unreadable"),
        (lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image_unreadable"),
        (_png_without_code, "qr_not_found"),
        (lambda: b"\x89PNG" + b"\x00" * (2 * 1024 * 1024 + 10), "image_too_large"),
    ],
    ids=["not-an-image", "cut-png", "no-qr-code", "oversized"],
)
def test_malformed_and_oversized_photos_are_refused(client_for, dealer, code, make_data, code_name):
    before = database_snapshot()

    response = _page_upload(client_for(dealer), make_data())

    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["photo"]] == [code_name]
    assert database_snapshot() == before


def test_a_photo_of_a_genuine_code_authorizes(client_for, dealer, code):
    response = _page_upload(client_for(dealer), qr_png(text=qr_code_view(code=code).token))

    assert response.status_code == 302
    assert code.redemptions.get().amount == 1_000
