"""Reading a QR code from an uploaded photo on the server with zxing-cpp (Pillow opens the image).

A small file can hold a huge picture (a blank 40-megapixel PNG compresses to 50 KB and decodes to 160 MB), so the
memory an upload may cost is bounded before anything is decoded:

1. the byte cap, `PAYMENTS_QR_UPLOAD_MAX_BYTES` (2 MiB);
2. only JPEG (what cameras write) and PNG (screenshots) are opened: a WebP decodes into two full-size buffers
   (190 MB for 12.6 megapixels), and other formats are not what phones send. Pillow reads the header lazily; the
   dimensions it states are checked against `PAYMENTS_QR_UPLOAD_MAX_PIXELS` (12.6 megapixels: a 12 MP phone photo,
   a 4K screenshot) before any pixel is decoded;
3. a JPEG is decoded already scaled down by the codec (`draft`) in greyscale; every picture is reduced to at most
   `DECODE_LONG_SIDE` pixels on its long side before zxing reads it. A QR code that fills a tenth of that width still
   has more than three pixels per module, which is what zxing needs;
4. at most `PAYMENTS_QR_DECODE_CONCURRENCY` pictures are decoded at once in a process, on as many threads of
   their own (`_decode_pool`); the others wait up to
   `PAYMENTS_QR_DECODE_WAIT_SECONDS` for a slot. Decoding is CPU work, so more at once than cores buys nothing, and
   the peak memory of a process is this many times that of one decode (about 60 MB for the worst accepted picture,
   a 12.6-megapixel RGBA PNG; bench/uploads.py measures it);
5. each signed-in user may upload `PAYMENTS_QR_UPLOAD_RATE_PER_MINUTE` photos a minute (`qr_photo_decode_for_user`).

Refusals have named codes: `image_too_large` (over the byte or the pixel cap), `image_unreadable` (not a JPEG or PNG
Pillow can read), `qr_not_found` (no QR code in the picture), `image_decoder_busy` (no decode slot in time,
HTTP 503), `upload_rate_exceeded` (over the per-user rate, HTTP 429).
"""

from __future__ import annotations

import io
import math
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import zxingcpp
from django.conf import settings
from django.core.files import File
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from accounts.services import request_rate_exceeded
from core.errors import ApplicationError, ValidationFailed

ACCEPTED_FORMATS = ("JPEG", "PNG")
DECODE_LONG_SIDE = 2048
_READ_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError)


class UploadRateExceeded(ApplicationError):
    """More photo uploads in a minute than a user may send: HTTP 429."""

    status = 429
    code = "upload_rate_exceeded"


class DecoderBusy(ApplicationError):
    """Every decode slot stayed taken for the whole wait: HTTP 503, the upload may be sent again."""

    status = 503
    code = "image_decoder_busy"


_pools_lock = threading.Lock()
_pools: dict[int, tuple[threading.BoundedSemaphore, ThreadPoolExecutor]] = {}


def upload_max_bytes() -> int:
    return settings.PAYMENTS_QR_UPLOAD_MAX_BYTES


def _decode_pool() -> tuple[threading.BoundedSemaphore, ThreadPoolExecutor]:
    """The process's decode slots and the threads that decode (one pair per configured concurrency, so tests may
    change it). Pictures are decoded on these few threads, never on the request's own: the C allocator keeps a
    separate heap per thread and holds on to what a large decode freed there, so decoding on every request thread
    would leave each of them holding a decode's worth of memory."""
    concurrency = settings.PAYMENTS_QR_DECODE_CONCURRENCY
    with _pools_lock:
        if concurrency not in _pools:
            executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="qr-decode")
            _pools[concurrency] = (threading.BoundedSemaphore(concurrency), executor)
        return _pools[concurrency]


def _decode_slots() -> threading.BoundedSemaphore:
    return _decode_pool()[0]


def _too_large(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="image_too_large")


def _unreadable() -> ValidationFailed:
    return ValidationFailed(str(_("The file is not a readable JPEG or PNG picture.")), code="image_unreadable")


def _open_checked(data: bytes) -> Image.Image:
    """Opens the picture lazily (header only) and refuses it by its stated size before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(str(_("The picture has too many pixels."))) from None
    except _READ_ERRORS:
        raise _unreadable() from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > settings.PAYMENTS_QR_UPLOAD_MAX_PIXELS:
        image.close()
        raise _too_large(str(_("The picture has too many pixels.")))
    return image


def _greyscale_reduced(image: Image.Image) -> Image.Image:
    """The picture in greyscale with its long side at most DECODE_LONG_SIDE; the full-size decode is freed early."""
    width, height = image.size
    scale = max(width, height) / DECODE_LONG_SIDE
    try:
        if image.format == "JPEG" and scale > 1:
            # libjpeg scales by 1/2, 1/4 or 1/8 while decoding and leaves out the colour channels.
            image.draft("L", (math.ceil(width / scale), math.ceil(height / scale)))
        image.load()
        grey = image if image.mode == "L" else image.convert("L")
    except _READ_ERRORS:
        image.close()
        raise _unreadable() from None
    if grey is not image:
        image.close()
    scale = max(grey.size) / DECODE_LONG_SIDE
    if scale > 1:
        target = (max(1, round(grey.width / scale)), max(1, round(grey.height / scale)))
        reduced = grey.resize(target, Image.Resampling.BOX)
        grey.close()
        return reduced
    return grey


def _read_code(data: bytes) -> list[zxingcpp.Barcode]:
    grey = _greyscale_reduced(_open_checked(data))
    try:
        return zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)
    finally:
        grey.close()


def qr_image_decode(*, data: bytes) -> str:
    """The text of the first QR code found in the image bytes."""
    if len(data) > upload_max_bytes():
        raise _too_large(str(_("The picture is larger than allowed.")))
    slots, executor = _decode_pool()
    if not slots.acquire(timeout=settings.PAYMENTS_QR_DECODE_WAIT_SECONDS):
        raise DecoderBusy(str(_("Too many pictures are being read right now. Try again in a moment.")))
    try:
        # A slot is held, so a decode thread is free: the job starts at once and the wait is the decode itself.
        results = executor.submit(_read_code, data).result()
    finally:
        slots.release()
    if not results:
        raise ValidationFailed(str(_("No QR code was found in the picture.")), code="qr_not_found")
    return results[0].text


def qr_photo_decode_for_user(*, user_id: int, photo: File) -> str:
    """A signed-in user's uploaded photo, counted against their upload rate before it is read or decoded."""
    if request_rate_exceeded(
        scope="qr-photo", client=f"user:{user_id}", limit_per_minute=settings.PAYMENTS_QR_UPLOAD_RATE_PER_MINUTE
    ):
        raise UploadRateExceeded(str(_("Too many photos uploaded. Wait a minute before trying again.")))
    return qr_image_decode(data=photo.read(upload_max_bytes() + 1))
