"""Helpers shared by the QR payment code pages: domain errors onto forms, CSV downloads."""

from __future__ import annotations

from django import forms
from django.http import HttpResponse

from portal.errors import ApplicationError


def form_error(form: forms.Form, error: ApplicationError, *, field: str | None = None) -> None:
    """Shows a refused request next to `field` (or above the form), with its machine-readable code as the error code."""
    form.add_error(field, forms.ValidationError(error.detail, code=error.code))


def csv_response(content: str, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
