"""Helpers shared by the leasing pages."""

from __future__ import annotations

from django import forms
from django.http import HttpResponse

from core.errors import ApplicationError


def form_error_apply(*, form: forms.Form, error: ApplicationError) -> None:
    """Shows a refused service call on the form: field errors next to their fields, the rest on top."""
    placed = False
    for field, messages in (error.fields or {}).items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    form.add_error(None, forms.ValidationError(error.detail, code=error.code) if not placed else error.detail)


def pdf_response(*, content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(bytes(content), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
