"""Photo uploads on the redeem and invoice pages cost bounded memory: the picture's stated size is refused before any
pixel is decoded, decodes run a few at a time, and each user may upload a few photos a minute."""

from __future__ import annotations

import io
import uuid
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageFile

from accounts import services as account_services
from payments.qr import images
from payments.qr.invoices import dealer_invoice_create
from payments.qr.selectors import qr_code_view
from payments.qr.tokens import qr_png
from payments.tests.qr.factories import database_snapshot

pytestmark = pytest.mark.django_db
REDEEM_URL = "/payments/qr/dealer/redeem/"
INVOICE_URL = "/payments/qr/invoices/"


def _png(size: tuple[int, int], mode: str = "1") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 1 if mode == "1" else "white").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _upload(data: bytes, name: str = "photo.png") -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def _redeem(client: Client, data: bytes, name: str = "photo.png"):
    body = {"photo": _upload(data, name), "amount": "10.00", "idempotency_key": uuid.uuid4().hex}
    return client.post(REDEEM_URL, body)


def _open_invoice(client: Client, data: bytes):
    return client.post(INVOICE_URL, {"photo": _upload(data)})


def _photo_error_codes(response) -> list[str]:
    return [error.code for error in response.context["form"].errors.as_data()["photo"]]


@pytest.fixture
def decodes(monkeypatch) -> list[tuple[int, int]]:
    """The size of every picture whose pixels Pillow decoded while the portal answered the test's requests."""
    seen: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load
    original_post = Client.post

    def load(image: ImageFile.ImageFile):
        if recording and not getattr(image, "_decoded_in_test", False):
            image._decoded_in_test = True
            seen.append(image.size)
        return original(image)

    def post(self, *args, **kwargs):
        nonlocal recording
        recording = True
        try:
            return original_post(self, *args, **kwargs)
        finally:
            recording = False

    recording = False
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(Client, "post", post)
    return seen


@pytest.fixture
def one_rate_window(monkeypatch) -> None:
    """The upload limit counts in fixed one-minute windows; hold the counter's clock so a test never straddles two."""
    now = timezone.now()
    monkeypatch.setattr(account_services, "timezone", SimpleNamespace(now=lambda: now))


def test_hole_4_a_small_file_of_forty_megapixels_is_refused_before_it_is_decoded(
    client_for, dealer, customer, code, decodes
):
    """The attack of the review: a 39.7-megapixel blank PNG of a few dozen KB, on both upload pages."""
    bomb = _png((6300, 6300))
    assert len(bomb) < 60_000
    dealer_invoice_create(user=dealer, organisation=dealer.dealer_organisation, amount=2_000)
    before = database_snapshot()

    redeemed = _redeem(client_for(dealer), bomb)
    opened = _open_invoice(client_for(customer), bomb)

    assert (redeemed.status_code, _photo_error_codes(redeemed)) == (200, ["image_too_large"])
    assert (opened.status_code, _photo_error_codes(opened)) == (200, ["image_too_large"])
    assert decodes == []
    assert database_snapshot() == before


@pytest.mark.parametrize("size", [(4097, 3076), (12_600_001, 1)], ids=["just-over-the-cap", "one-long-row"])
def test_pictures_over_the_pixel_cap_are_refused_unread(client_for, dealer, code, decodes, size):
    before = database_snapshot()

    response = _redeem(client_for(dealer), _png(size))

    assert _photo_error_codes(response) == ["image_too_large"]
    assert decodes == []
    assert database_snapshot() == before


@pytest.mark.parametrize("image_format", ["WEBP", "BMP", "TIFF", "GIF"])
def test_formats_other_than_jpeg_and_png_are_not_opened(client_for, dealer, code, decodes, image_format):
    buffer = io.BytesIO()
    Image.open(io.BytesIO(qr_png(text=qr_code_view(code=code).token))).convert("L").save(buffer, format=image_format)
    before = database_snapshot()

    response = _redeem(client_for(dealer), buffer.getvalue(), name=f"photo.{image_format.lower()}")

    assert _photo_error_codes(response) == ["image_unreadable"]
    assert decodes == []
    assert database_snapshot() == before


def _photo_of(text: str, *, size: tuple[int, int], code_width: int, image_format: str) -> bytes:
    """A picture of `size` with the QR code, `code_width` pixels wide, in it (as a phone photo or a screenshot)."""
    symbol = Image.open(io.BytesIO(qr_png(text=text))).convert("L")
    symbol = symbol.resize((code_width, code_width), Image.Resampling.NEAREST)
    picture = Image.new("RGB", size, (235, 232, 225))
    picture.paste(symbol.convert("RGB"), (size[0] // 3, size[1] // 4))
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("size", "image_format", "decoded_size"),
    [
        ((4032, 3024), "JPEG", (4032, 3024)),
        ((8000, 1500), "JPEG", (4000, 750)),
        ((4096, 3072), "PNG", (4096, 3072)),
        ((3840, 2160), "PNG", (3840, 2160)),
    ],
    ids=["12-mp-phone-photo", "wide-jpeg-decoded-at-half-size", "png-at-the-cap", "4k-screenshot"],
)
def test_a_large_photo_of_a_genuine_code_is_read_scaled_down_and_authorizes(
    client_for, dealer, code, decodes, size, image_format, decoded_size
):
    """A JPEG is decoded by the codec at the smallest scale that keeps 2048 pixels on its long side; every picture is
    read by zxing at most 2048 pixels wide."""
    photo = _photo_of(qr_code_view(code=code).token, size=size, code_width=600, image_format=image_format)

    response = _redeem(client_for(dealer), photo, name=f"photo.{image_format.lower()}")

    assert response.status_code == 302
    assert code.redemptions.get().amount == 1_000
    assert decodes == [decoded_size]


def test_uploads_beyond_the_per_user_rate_are_refused_with_429_and_read_nothing(
    client_for, dealer, make_user, dealer_organisation, code, settings, one_rate_window, decodes
):
    settings.PAYMENTS_QR_UPLOAD_RATE_PER_MINUTE = 2
    client = client_for(dealer)
    blank = _png((200, 200), mode="L")
    before = database_snapshot()

    answers = [_redeem(client, blank) for _ in range(3)]
    refused = answers[-1]
    colleague = _redeem(client_for(make_user(dealer.role, dealer_organisation=dealer_organisation)), blank)

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert [_photo_error_codes(answer) for answer in answers] == [["qr_not_found"]] * 2 + [["upload_rate_exceeded"]]
    assert refused["Retry-After"] == "60"
    assert "Too many photos uploaded" in refused.content.decode()
    assert (colleague.status_code, _photo_error_codes(colleague)) == (200, ["qr_not_found"])
    assert decodes == [(200, 200)] * 3
    assert database_snapshot() == before


def test_an_upload_that_finds_no_free_decode_slot_is_refused_with_503(client_for, dealer, code, settings, decodes):
    settings.PAYMENTS_QR_DECODE_CONCURRENCY = 1
    settings.PAYMENTS_QR_DECODE_WAIT_SECONDS = 0.05
    photo = qr_png(text=qr_code_view(code=code).token)
    slots = images._decode_slots()
    before = database_snapshot()

    assert slots.acquire(timeout=5)
    try:
        busy = _redeem(client_for(dealer), photo)
    finally:
        slots.release()
    after_refusal = database_snapshot()
    afterwards = _redeem(client_for(dealer), photo)

    assert (busy.status_code, busy["Retry-After"], _photo_error_codes(busy)) == (503, "5", ["image_decoder_busy"])
    assert after_refusal == before
    assert afterwards.status_code == 302
    assert code.redemptions.get().amount == 1_000
