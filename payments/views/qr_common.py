"""Helpers shared by the QR payment code pages: domain errors onto forms, CSV downloads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar

from django import forms
from django.http import HttpResponse
from django.utils import timezone

from core.errors import ApplicationError
from payments.qr.statements import LedgerLine, Statement, StatementLine

_Line = TypeVar("_Line", StatementLine, LedgerLine)


def form_error(form: forms.Form, error: ApplicationError, *, field: str | None = None) -> None:
    """Shows a refused request next to `field` (or above the form), with its machine-readable code as the error code."""
    form.add_error(field, forms.ValidationError(error.detail, code=error.code))


def is_photo_error(error: ApplicationError) -> bool:
    """Refusals of an uploaded photo itself (payments/qr/images.py), shown next to the photo field."""
    return error.code.startswith(("image_", "qr_not_found", "upload_"))


def photo_error_status(error: ApplicationError) -> int:
    """The page's status for a refused photo: 429 over the upload rate, 503 with no decode slot, else 200 (the form
    shows the error)."""
    return error.status if error.status in (429, 503) else 200


def with_retry_after(response: HttpResponse) -> HttpResponse:
    """A 429 or 503 page tells the browser when to send again (the rate window is one minute)."""
    if response.status_code == 429:
        response["Retry-After"] = "60"
    elif response.status_code == 503:
        response["Retry-After"] = "5"
    return response


def csv_response(content: str, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def in_reader_zone(lines: Sequence[_Line]) -> list[_Line]:
    """The lines with their booking time in the reader's zone (activated per request), to the second: the CSV then
    reads "2026-12-06T14:05:09+01:00", ISO 8601 with the offset, like every time the pages show in that zone."""
    return [replace(line, booked_at=timezone.localtime(line.booked_at).replace(microsecond=0)) for line in lines]


def statement_in_reader_zone(statement: Statement) -> Statement:
    return replace(statement, lines=tuple(in_reader_zone(statement.lines)))
