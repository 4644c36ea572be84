"""Reading a QR code from an uploaded photo on the server with zxing-cpp (Pillow opens the image).

Refusals have named codes: `image_too_large` (over `PAYMENTS_QR_UPLOAD_MAX_BYTES`, default 2 MiB, or over 40
megapixels), `image_unreadable` (not an image Pillow can open), `qr_not_found` (no QR code in the picture).
"""

from __future__ import annotations

import io
import warnings

import zxingcpp
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from portal.errors import ValidationFailed

MAX_PIXELS = 40_000_000


def upload_max_bytes() -> int:
    return settings.PAYMENTS_QR_UPLOAD_MAX_BYTES


def qr_image_decode(*, data: bytes) -> str:
    """The text of the first QR code found in the image bytes."""
    if len(data) > upload_max_bytes():
        raise ValidationFailed("The picture is larger than allowed.", code="image_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise ValidationFailed("The picture has too many pixels.", code="image_too_large")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):  # fmt: skip
        raise ValidationFailed("The file is not a readable picture.", code="image_unreadable") from None
    results = zxingcpp.read_barcodes(image.convert("RGB"), formats=zxingcpp.BarcodeFormat.QRCode)
    if not results:
        raise ValidationFailed("No QR code was found in the picture.", code="qr_not_found")
    return results[0].text
