"""Request ids and client pseudonyms for structured logs. Logs carry ids and codes only, never personal data.

`client` is a keyed hash of the client address from core.client_address (the same address the login limits and
API throttles count), so one client's lines can be followed without the address being written down.
"""

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.client_address import client_pseudonym

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
client_var: contextvars.ContextVar[str] = contextvars.ContextVar("client", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` and `client` to every record so text and JSON formatters can print them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.client = client_var.get()
        return True


class RequestIdMiddleware:
    """Takes a well-formed `X-Request-ID` from the proxy or makes one; echoes it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        client_token = client_var.set(client_pseudonym(request))
        try:
            response = self.get_response(request)
        finally:
            client_var.reset(client_token)
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
